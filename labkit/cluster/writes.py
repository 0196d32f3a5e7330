"""The API server's writes: create, patch (JSON, merge, strategic merge), delete, and the field
validation and namespace checks in front of them - mixed into the HTTP handler."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import openapi
from .objects import now
from .patch import json_patch, merge_patch, strategic_merge
from .requests import PATCH_TYPES, ApiError, Target, not_found, status_body
from .resources import Resource
from .store import Conflict, NotFound

if TYPE_CHECKING:
    from .server import LocalCluster


class Writes:
    """Mixed into the handler: the verbs that change the store."""

    cluster: LocalCluster
    _warnings: list[str]

    def _validate_fields(self, obj: dict, query: dict, r: Resource) -> None:
        """fieldValidation: Strict refuses unknown fields, Warn (the default) names them in Warning headers."""
        mode = (query.get("fieldValidation") or "Warn").capitalize()
        if not isinstance(obj, dict):
            return
        wrong = openapi.type_error({**obj, "apiVersion": r.api_version, "kind": r.kind})
        if wrong:
            raise ApiError(400, "BadRequest", f'{r.kind} in version "{r.api_version.rsplit("/", 1)[-1]}" cannot '
                                              f"be handled as a {r.kind}: {wrong}")
        if mode == "Ignore":
            return
        unknown = openapi.unknown_fields({**obj, "apiVersion": r.api_version, "kind": r.kind})
        if unknown and mode == "Strict":
            raise ApiError(400, "BadRequest", "strict decoding error: " + ", ".join(
                f'unknown field "{f}"' for f in unknown))
        self._warnings += [f'unknown field "{f}"' for f in unknown]

    def _namespace_ready(self, t: Target) -> None:
        if not t.resource.namespaced:
            return
        try:
            ns = self.cluster.store.get("namespaces", "", t.ns or "")
        except NotFound:
            raise not_found("namespaces", t.ns or "") from None
        if ns["metadata"].get("deletionTimestamp"):
            raise ApiError(403, "Forbidden", f'{t.res} is forbidden: unable to create new content in namespace '
                                             f'{t.ns} because it is being terminated')

    def _create(self, t: Target, query: dict) -> None:
        body = self._body()
        self._validate_fields(body, query, t.resource)
        self._namespace_ready(t)
        meta = body.get("metadata") if isinstance(body, dict) else None
        name = meta.get("name", "") if isinstance(meta, dict) else ""
        try:
            obj = self.cluster.store.create(t.res, t.ns or "", body)
        except Conflict as err:
            raise ApiError(409, "AlreadyExists", str(err), {"name": name, "kind": t.res}) from None
        self._send(201, obj)

    def _apply_patch(self, current: dict) -> dict:
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        kind = PATCH_TYPES.get(ctype)
        if kind is None:
            raise ApiError(415, "UnsupportedMediaType", f"the local cluster does not support patch type {ctype!r}")
        patch = self._body()
        if kind == "json":
            return json_patch(current, patch)
        if not isinstance(patch, dict):
            raise ApiError(400, "BadRequest", "a merge patch must be a JSON object")
        return merge_patch(current, patch) if kind == "merge" else strategic_merge(current, patch)

    def _patch(self, t: Target, query: dict) -> dict:
        store = self.cluster.store
        with store.lock:
            current = store.get(t.res, t.ns or "", t.name or "")
            patched = self._apply_patch(current)
            if not isinstance(patched, dict):
                raise ApiError(422, "Invalid", "the patched object is not an object")
            self._validate_fields(patched, query, t.resource)
            rv = (patched.get("metadata") or {}).get("resourceVersion")
            if rv and rv != current["metadata"]["resourceVersion"]:  # a patch naming one: a precondition
                raise Conflict(f"the object has been modified; resourceVersion {rv} is stale")
            patched.setdefault("metadata", {}).pop("resourceVersion", None)
            return store.replace(t.res, t.ns or "", t.name or "", patched)

    def _delete(self, t: Target, query: dict) -> None:
        store, ns, name = self.cluster.store, t.ns or "", t.name or ""
        options = self._body() or {}
        grace = query.get("gracePeriodSeconds", options.get("gracePeriodSeconds"))
        policy = query.get("propagationPolicy") or options.get("propagationPolicy") or "Background"
        if t.res == "pods":
            if grace is not None and int(grace) == 0:
                store.update("pods", ns, name, lambda p: p["spec"].__setitem__("terminationGracePeriodSeconds", 0))
            pod = store.mark_deleting("pods", ns, name)
            if not self.cluster.runtime(ns, name):
                store.delete("pods", ns, name)  # nothing runs it: gone at once
            self._send(200, pod)
            return
        if t.res == "namespaces":
            if name in ("default", "kube-system", "kube-public", "kube-node-lease"):
                raise ApiError(403, "Forbidden", f'namespaces "{name}" is forbidden: this namespace may not be deleted')
            obj = store.update("namespaces", "", name, lambda n: (n["metadata"].setdefault("deletionTimestamp", now()),
                                                                  n["status"].__setitem__("phase", "Terminating")))
            self._send(200, obj)
            return
        if policy == "Orphan":
            self.cluster.orphan_dependents(store.get(t.res, ns, name))
        obj = store.delete(t.res, ns, name)
        if t.res == "services":  # the API server's service storage returns the deleted object
            self._send(200, obj)
            return
        self._send(200, status_body(200, "", "", {"name": name, "kind": t.res, "uid": obj["metadata"]["uid"]})
                   | {"status": "Success"})
