"""The local cluster's HTTP front: authentication, routing, and the REST verbs on every served resource.

Everything but /version and the health endpoints needs the cluster's bearer token
(as on a real API server: 401 with a Status otherwise).  Discovery, OpenAPI, tables,
watches, logs, exec and the pod proxy all live behind it.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from ..httpserver import log_error
from . import openapi, protobuf, resources, tables, watch
from .invalid import Invalid
from .objects import now
from .patch import PatchError, json_patch, merge_patch, strategic_merge
from .requests import (
    PATCH_TYPES,
    PUBLIC,
    ApiError,
    Target,
    field_matches,
    not_found,
    parse,
    status_body,
)
from .resources import Resource
from .selectors import matches
from .store import Conflict, NotFound
from .subresources import Subresources

if TYPE_CHECKING:
    from .server import LocalCluster

class Handler(Subresources, BaseHTTPRequestHandler):
    """The local API server's HTTP handler: the Kubernetes REST paths, watch, exec, logs and proxies."""
    cluster: LocalCluster
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        """Quiet: requests are not logged to stderr (a notebook cell would show them)."""
        pass

    # -- plumbing ------------------------------------------------------------------
    def _send(self, code: int, body: Any, ctype: str = "application/json", headers: dict | None = None) -> None:
        data = body if isinstance(body, bytes) else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        for warning in self._warnings:  # header values are ASCII: a field name may not be
            self.send_header("Warning", f'299 - "{json.dumps(warning)[1:-1]}"')
        self.end_headers()
        self.wfile.write(data)

    def _read_raw(self) -> bytes:
        """This request's body, read once (the handler lives on across keep-alive requests)."""
        if self._raw is None:
            length = int(self.headers.get("Content-Length") or 0)
            self._raw = self.rfile.read(length) if length else b""
        return self._raw

    def _body(self) -> Any:
        raw = self._read_raw()
        if not raw:
            return None
        if (self.headers.get("Content-Type") or "").startswith("application/vnd.kubernetes.protobuf"):
            try:
                return protobuf.decode(raw)
            except protobuf.Unsupported as err:
                raise ApiError(415, "UnsupportedMediaType", f"the local cluster reads protobuf bodies of "
                                                            f"Namespaces and Secrets only, not {err}: send JSON") from None
            except ValueError as err:
                raise ApiError(400, "BadRequest", f"the protobuf body cannot be decoded: {err}") from None
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiError(400, "BadRequest", "the request body is not JSON") from None

    def _handle(self, method: str) -> None:
        self._raw: bytes | None = None
        self._warnings: list[str] = []
        try:
            split = urllib.parse.urlsplit(self.path)
            if split.path in PUBLIC:
                self._read_raw()
                self._public(split.path)
                return
            if not self._authenticated():
                self._read_raw()
                raise ApiError(401, "Unauthorized", "Unauthorized")
            fault = self.cluster.take_fault(method, urllib.parse.unquote(split.path))
            if fault is not None:
                self._read_raw()
                raise ApiError(fault["status"], "InternalError" if fault["status"] >= 500 else "Forbidden",
                               fault["message"])
            query = {k: v[-1] for k, v in urllib.parse.parse_qs(split.query, keep_blank_values=True).items()}
            self._route(method, split, query)
        except ApiError as err:
            self._send(err.code, err.body)
        except Invalid as err:
            self._send(422, status_body(422, "Invalid", f"{err.field}: {err.message}",
                                        {"causes": [{"reason": "FieldValueInvalid", "message": err.message,
                                                     "field": err.field}]}))
        except PatchError as err:
            self._send(422, status_body(422, "Invalid", str(err)))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as err:  # a bug here: answer as an API server does, keep serving, log the trace
            log_error(self.cluster.error_log, f"handling {method} {self.path}")
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._send(500, status_body(500, "InternalError", f"an error on the server ({type(err).__name__}) "
                                                                  "has prevented the request from succeeding"))

    do_GET = lambda self: self._handle("GET")  # noqa: E731
    do_POST = lambda self: self._handle("POST")  # noqa: E731
    do_PUT = lambda self: self._handle("PUT")  # noqa: E731
    do_PATCH = lambda self: self._handle("PATCH")  # noqa: E731
    do_DELETE = lambda self: self._handle("DELETE")  # noqa: E731

    def _authenticated(self) -> bool:
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self.cluster.token.encode())

    def _public(self, path: str) -> None:
        if path == "/version":
            self._send(200, resources.VERSION)
        else:
            self._send(200, "ok", "text/plain; charset=utf-8")

    # -- routing -----------------------------------------------------------------------
    def _route(self, method: str, split: urllib.parse.SplitResult, query: dict[str, str]) -> None:
        path = split.path.rstrip("/") or "/"
        documents = {"/api": resources.api_versions, "/apis": resources.api_groups,
                     "/api/v1": lambda: resources.resource_list("/api/v1"),
                     "/apis/apps/v1": lambda: resources.resource_list("/apis/apps/v1"),
                     "/apis/apps": lambda: resources.api_group("apps"), "/openapi/v3": openapi.index,
                     "/openapi/v3/api/v1": lambda: openapi.group_version_document("/api/v1"),
                     "/openapi/v3/apis/apps/v1": lambda: openapi.group_version_document("/apis/apps/v1")}
        if path in documents:
            if method != "GET":
                raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on {path}")
            self._send(200, documents[path]())
            return
        target = parse(path)
        if target is None:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({path})")
        if target.sub:
            self._subresource(method, target, query, split.query)
        elif target.name is None:
            self._collection(method, target, query)
        else:
            self._object(method, target, query)

    # -- collections ---------------------------------------------------------------------
    def _selected(self, t: Target, query: dict) -> list[dict]:
        items = self.cluster.store.list(t.res, t.ns if t.resource.namespaced else None, query.get("labelSelector"))
        return [i for i in items if field_matches(i, query.get("fieldSelector"))]

    def _collection(self, method: str, t: Target, query: dict) -> None:
        if method == "GET" and query.get("watch") in ("true", "1"):
            self._watch(t, query)
        elif method == "GET":
            self._list(t, query)
        elif method == "POST":
            self._create(t, query)
        else:
            raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on a {t.resource.kind} collection")

    def _list(self, t: Target, query: dict) -> None:
        store = self.cluster.store
        with store.lock:
            items, rv = self._selected(t, query), store.version()
        start = 0
        if query.get("continue"):
            try:
                start = int(json.loads(base64.urlsafe_b64decode(query["continue"]))["start"])
            except (ValueError, KeyError, TypeError):
                raise ApiError(400, "BadRequest", "the continue token is not valid") from None
        limit = int(query["limit"]) if (query.get("limit") or "").isdigit() and int(query["limit"]) > 0 else 0
        page = items[start: start + limit] if limit else items[start:]
        more = bool(limit) and start + limit < len(items)
        token = base64.urlsafe_b64encode(json.dumps({"start": start + limit}).encode()).decode() if more else ""
        if tables.wants_table(self.headers.get("Accept")):
            self._send(200, tables.table(t.res, page, rv, query.get("includeObject") or "Metadata", token))
            return
        meta = {"resourceVersion": rv, **({"continue": token} if token else {})}
        self._send(200, {"apiVersion": t.resource.api_version, "kind": f"{t.resource.kind}List",
                         "metadata": meta, "items": page})

    def _watch(self, t: Target, query: dict) -> None:
        as_table = tables.wants_table(self.headers.get("Accept"))
        include = query.get("includeObject") or "Metadata"

        def render(obj: dict) -> dict:
            return tables.table(t.res, [obj], obj["metadata"]["resourceVersion"], include) if as_table else obj

        def keep(obj: dict) -> bool:
            return (matches(obj["metadata"].get("labels") or {}, query.get("labelSelector"))
                    and field_matches(obj, query.get("fieldSelector")))

        self.close_connection = True
        watch.serve(self, self.cluster.store, t.res, t.ns if t.resource.namespaced else None, query, keep, render,
                    self.cluster.stopping)

    # -- objects ---------------------------------------------------------------------------
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

    def _object(self, method: str, t: Target, query: dict) -> None:
        store, ns, name = self.cluster.store, t.ns or "", t.name or ""
        try:
            if method == "GET":
                obj = store.get(t.res, ns, name)
                if tables.wants_table(self.headers.get("Accept")):
                    obj = tables.table(t.res, [obj], obj["metadata"]["resourceVersion"],
                                       query.get("includeObject") or "Metadata")
                self._send(200, obj)
            elif method == "PUT":
                body = self._body()
                self._validate_fields(body, query, t.resource)
                self._send(200, store.replace(t.res, ns, name, body))
            elif method == "PATCH":
                self._send(200, self._patch(t, query))
            elif method == "DELETE":
                self._delete(t, query)
            else:
                raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on a {t.resource.kind}")
        except NotFound:
            raise not_found(t.res, name) from None
        except Conflict as err:
            raise ApiError(409, "Conflict", str(err), {"name": name, "kind": t.res}) from None

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
