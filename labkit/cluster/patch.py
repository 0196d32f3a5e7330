"""The three patch types of the Kubernetes API: JSON patch, merge patch, strategic merge patch.

Strategic merge merges lists of named things by their key - ``containers``, ``env``,
``volumes``, ``volumeMounts`` by ``name``, a container's ``ports`` by ``containerPort`` and a
Service's by ``port`` - where a merge patch would replace the whole list; ``$patch: delete``
removes an entry.
"""

from __future__ import annotations

import copy
from typing import Any

MERGE_KEYS = {"containers": "name", "initContainers": "name", "env": "name", "volumes": "name",
              "volumeMounts": "name", "ports": "containerPort", "imagePullSecrets": "name",
              "envFrom": None}


class PatchError(ValueError):
    """A patch that cannot be applied (answered with 422)."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def strategic_merge(target: Any, patch: Any, key: str | None = None) -> Any:
    """Kubernetes' strategic merge: like a merge patch, but named lists merge by their key."""
    if isinstance(patch, dict):
        out = dict(target) if isinstance(target, dict) else {}
        for k, value in patch.items():
            if k.startswith("$"):
                continue
            if value is None:
                out.pop(k, None)
            else:
                out[k] = strategic_merge(out.get(k), value, k)
        return out
    if isinstance(patch, list) and key in MERGE_KEYS and MERGE_KEYS[key] and isinstance(target, list):
        merge_key = MERGE_KEYS[key]
        if key == "ports" and patch and all(isinstance(i, dict) and "containerPort" not in i for i in patch):
            merge_key = "port"  # a Service's ports (ServicePort's patchMergeKey)
        return _merge_list(target, patch, merge_key)
    return copy.deepcopy(patch)


def _merge_list(target: list, patch: list, merge_key: str) -> list:
    out = [copy.deepcopy(item) for item in target]
    for item in patch:
        if not isinstance(item, dict) or merge_key not in item:
            raise PatchError(f"strategic merge: every entry needs {merge_key!r}")
        index = next((i for i, cur in enumerate(out) if isinstance(cur, dict)
                      and cur.get(merge_key) == item[merge_key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                out.pop(index)
            continue
        if index is None:
            out.append(strategic_merge({}, item))
        else:
            out[index] = strategic_merge(out[index], item)
    return out


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"JSON pointer {path!r} must start with /")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> tuple[Any, str]:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise PatchError(f"path /{'/'.join(parts)} does not exist")
    return node, parts[-1]


def json_patch(doc: Any, ops: list[dict[str, Any]]) -> Any:
    """RFC 6902: add, remove, replace, move, copy, test - all or nothing."""
    doc = copy.deepcopy(doc)
    if not isinstance(ops, list):
        raise PatchError("a JSON patch is a list of operations")
    for op in ops:
        try:
            doc = _apply(doc, op)
        except (KeyError, IndexError, ValueError, TypeError) as err:
            raise PatchError(f"JSON patch {op.get('op')} {op.get('path')}: {err}") from None
    return doc


def _get(doc: Any, parts: list[str]) -> Any:
    node = doc
    for part in parts:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _apply(doc: Any, op: dict[str, Any]) -> Any:
    kind, parts = op.get("op"), _pointer(op.get("path", ""))
    if kind == "test":
        if _get(doc, parts) != op.get("value"):
            raise ValueError("test failed")
        return doc
    if kind in ("move", "copy"):
        value = copy.deepcopy(_get(doc, _pointer(op["from"])))
        if kind == "move":
            doc = _apply(doc, {"op": "remove", "path": op["from"]})
        return _apply(doc, {"op": "add", "path": op["path"], "value": value})
    if not parts:
        if kind in ("add", "replace"):
            return copy.deepcopy(op["value"])
        raise ValueError("cannot remove the whole document")
    parent, last = _parent(doc, parts)
    if kind == "add":
        if isinstance(parent, list):
            parent.insert(len(parent) if last == "-" else int(last), copy.deepcopy(op["value"]))
        else:
            parent[last] = copy.deepcopy(op["value"])
    elif kind == "replace":
        if isinstance(parent, list):
            parent[int(last)] = copy.deepcopy(op["value"])
        elif last in parent:
            parent[last] = copy.deepcopy(op["value"])
        else:
            raise KeyError(last)
    elif kind == "remove":
        if isinstance(parent, list):
            parent.pop(int(last))
        else:
            del parent[last]
    else:
        raise ValueError(f"unknown op {kind!r}")
    return doc
