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
from .patch import PatchError
from .requests import (
    PUBLIC,
    ApiError,
    Target,
    field_matches,
    not_found,
    parse,
    status_body,
)
from .selectors import matches
from .store import Conflict, NotFound
from .subresources import Subresources
from .writes import Writes

if TYPE_CHECKING:
    from .server import LocalCluster

class Handler(Subresources, Writes, BaseHTTPRequestHandler):
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
