"""OpenAPI v3 documents and server-side field validation, from the real Kubernetes schemas.

The schemas come from the `kubernetes-validate` package (the published Kubernetes
OpenAPI definitions as JSON schema).  kubectl reads /openapi/v3 to learn that the
server validates fields itself (the `fieldValidation` query parameter on PATCH) and
to compute `kubectl apply`'s strategic merge patches from the schemas' patch
strategies; `kubectl explain` reads the same documents.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from typing import Any

from .resources import GROUP_VERSIONS, VERSION, in_group_version

SCHEMA_VERSION = f"{VERSION['major']}.{VERSION['minor']}"
PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json", "application/apply-patch+yaml")


@functools.lru_cache(maxsize=1)
def _definitions() -> dict[str, Any]:
    import kubernetes_validate

    path = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema",
                        f"v{SCHEMA_VERSION}.0-local", "_definitions.json")
    with open(path) as f:
        return json.load(f)["$defs"]


def _openapi3(node: Any) -> Any:
    """JSON-schema spellings to OpenAPI 3: $defs refs to components, ["x", "null"] types to "x"."""
    if isinstance(node, list):
        return [_openapi3(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            out[key] = "#/components/schemas/" + value.rsplit("/", 1)[-1]
        elif key == "type" and isinstance(value, list):
            out[key] = next((t for t in value if t != "null"), "object")
        else:
            out[key] = _openapi3(value)
    return out


def _closure(names: list[str]) -> dict[str, Any]:
    defs, out, todo = _definitions(), {}, list(names)
    while todo:
        name = todo.pop()
        if name in out or name not in defs:
            continue
        out[name] = _openapi3(defs[name])
        todo += [ref.rsplit("/", 1)[-1] for ref in _refs(defs[name])]
    return out


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _definition_name(group: str, version: str, kind: str) -> str | None:
    for name, schema in _definitions().items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or []:
            if (gvk.get("group", ""), gvk.get("version"), gvk.get("kind")) == (group, version, kind):
                return name
    return None


@functools.lru_cache(maxsize=4)
def group_version_document(prefix: str) -> dict[str, Any]:
    """The OpenAPI v3 document of /api/v1 or /apis/apps/v1: the served paths and their schemas."""
    group, version = GROUP_VERSIONS[prefix]
    paths, roots = {}, []
    for r in in_group_version(prefix).values():
        name = _definition_name(group, version, r.kind)
        if name is None:
            continue
        roots.append(name)
        ref = {"schema": {"$ref": f"#/components/schemas/{name}"}}
        gvk = {"group": group, "version": version, "kind": r.kind}
        params = [{"name": n, "in": "query", "schema": {"type": "string"}}
                  for n in ("dryRun", "fieldManager", "fieldValidation", "pretty")]
        item = f"{prefix}/namespaces/{{namespace}}/{r.plural}/{{name}}" if r.namespaced else f"{prefix}/{r.plural}/{{name}}"
        ops = {}
        for method in ("get", "put", "patch", "delete"):
            op: dict[str, Any] = {"x-kubernetes-group-version-kind": gvk, "x-kubernetes-action": method,
                                  "parameters": params if method in ("put", "patch") else [],
                                  "responses": {"200": {"description": "OK", "content": {"application/json": ref}}}}
            if method == "put":
                op["requestBody"] = {"content": {"application/json": ref}}
            if method == "patch":
                op["requestBody"] = {"content": {t: {"schema": {"type": "object"}} for t in PATCH_TYPES}}
            ops[method] = op
        paths[item] = ops
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes (labkit local cluster)", "version": VERSION["gitVersion"]},
            "paths": paths, "components": {"schemas": _closure(roots)}}


def index() -> dict[str, Any]:
    """/openapi/v3: where each group-version's document is, with a hash kubectl caches by."""
    out = {}
    for prefix in GROUP_VERSIONS:
        digest = hashlib.sha256(json.dumps(group_version_document(prefix), sort_keys=True).encode()).hexdigest()
        out[prefix.lstrip("/")] = {"serverRelativeURL": f"/openapi/v3{prefix}?hash={digest[:32].upper()}"}
    return {"paths": out}


def unknown_fields(obj: dict[str, Any]) -> list[str]:
    """Strict field validation: the fields of obj that its kind's schema does not know, as paths."""
    validator = _validator(str(obj.get("kind")), str(obj.get("apiVersion")), strict=True)
    err = next(validator.iter_errors(obj), None) if validator is not None else None
    if err is None or err.validator != "additionalProperties":
        return []  # type errors are the object validation's to report, naming the field
    where = _path(list(err.absolute_path))
    extra = sorted(set(err.instance) - set((err.schema or {}).get("properties") or {}))
    return [f"{where}.{name}" if where else name for name in extra]


@functools.lru_cache(maxsize=64)
def _validator(kind: str, api_version: str, strict: bool = False) -> Any:
    """A JSON-schema validator for one kind (strict: unknown fields are errors), built once - the
    definitions are megabytes. None for a kind the schemas do not have."""
    import re

    import jsonschema
    from kubernetes_validate.utils import (
        Registry,
        Resource,
        all_versions,
        major_minor,
        schema_contents,
    )

    version = [v for v in all_versions() if major_minor(v) <= SCHEMA_VERSION][-1]
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    folder = f"kubernetes-json-schema/v{version}-local" + ("-strict" if strict else "")
    try:
        schema = schema_contents(f"{folder}/{kind.lower()}-{group_version}.json", SCHEMA_VERSION)
    except FileNotFoundError:
        return None
    definitions = schema_contents(f"{folder}/_definitions.json", SCHEMA_VERSION)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def type_error(obj: dict[str, Any]) -> str | None:
    """The first field whose JSON type the kind's schema does not allow (what the API server's
    decoder refuses with 400 before any validation), or None."""
    validator = _validator(str(obj.get("kind")), str(obj.get("apiVersion")))
    if validator is None:
        return None
    for err in validator.iter_errors(obj):
        if err.validator in ("type", "anyOf", "oneOf"):
            where = _path(list(err.absolute_path)) or "body"
            got = type(err.instance).__name__.replace("dict", "object").replace("list", "array")
            return f"{where}: cannot decode a JSON {got} here ({err.message[:120]})"
    return None


def _path(parts: list) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out
