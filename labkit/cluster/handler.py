"""The local cluster's HTTP front: authentication, routing, and the REST verbs on every served resource.

Everything but /version and the health endpoints needs the cluster's bearer token
(as on a real API server: 401 with a Status otherwise).  Discovery, OpenAPI, tables,
watches, logs, exec and the pod proxy all live behind it.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import http.client
import json
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from ..httpserver import log_error
from . import execws, openapi, podlog, protobuf, resources, tables, watch
from .objects import Invalid, matches, now
from .patch import PatchError, json_patch, merge_patch, strategic_merge
from .resources import Resource
from .store import Conflict, NotFound

if TYPE_CHECKING:
    from .server import LocalCluster

PUBLIC = ("/version", "/healthz", "/livez", "/readyz")
PATCH_TYPES = {"application/json-patch+json": "json", "application/merge-patch+json": "merge",
               "application/strategic-merge-patch+json": "strategic"}
LOG_POLL = 0.2


def status_body(code: int, reason: str, message: str, details: dict | None = None) -> dict[str, Any]:
    """The Kubernetes Status object every error is answered with."""
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure" if code >= 400 else "Success",
            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return body


class ApiError(Exception):
    """An API error, answered as a Status with its HTTP code and reason."""
    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.body = status_body(code, reason, message, details)
        self.code = code


def not_found(res: str, name: str) -> ApiError:
    """The 404 NotFound Status of one object."""
    return ApiError(404, "NotFound", f'{res} "{name}" not found', {"name": name, "kind": res})


class Target:
    """A parsed resource path: /api/v1[/namespaces/NS]/RES[/NAME[/SUB[/REST]]]."""

    def __init__(self, resource: Resource, ns: str | None, name: str | None, sub: str | None, rest: str):
        self.resource, self.ns, self.name, self.sub, self.rest = resource, ns, name, sub, rest

    @property
    def res(self) -> str:
        """The resource's plural name (pods, deployments, ...)."""
        return self.resource.plural


def parse(path: str) -> Target | None:
    """The resource, namespace, name and subresource a request path names, or None."""
    for prefix in resources.GROUP_VERSIONS:
        if not path.startswith(prefix + "/"):
            continue
        served = resources.in_group_version(prefix)
        segs = path[len(prefix) + 1:].split("/")
        ns = None
        if segs[0] == "namespaces" and len(segs) >= 3 and segs[2] in served and served[segs[2]].namespaced:
            ns, segs = urllib.parse.unquote(segs[1]), segs[2:]
        r = served.get(segs[0])
        if r is None or (r.namespaced and ns is None and len(segs) > 1) or any(s == "" for s in segs[:3]):
            return None
        name = urllib.parse.unquote(segs[1]) if len(segs) > 1 else None
        sub = segs[2] if len(segs) > 2 else None
        rest = urllib.parse.unquote("/" + "/".join(segs[3:])) if len(segs) > 3 else ""
        return Target(r, ns, name, sub, rest)
    return None


def field_matches(obj: dict, selector: str | None) -> bool:
    """A field selector: terms a.b=c, a.b==c, a.b!=c joined by commas."""
    for term in (selector or "").split(","):
        term = term.strip()
        if not term:
            continue
        if "!=" in term:
            key, value = term.split("!=", 1)
            if _field(obj, key.strip()) == value.strip():
                return False
        else:
            key, value = term.split("==", 1) if "==" in term else term.partition("=")[::2]
            if _field(obj, key.strip()) != value.strip():
                return False
    return True


def _field(obj: dict, path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return "" if node is None else str(node)


class Handler(BaseHTTPRequestHandler):
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

    def _subresource(self, method: str, t: Target, query: dict, raw_query: str) -> None:
        if t.sub not in t.resource.subresources:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({t.res}/{t.sub})")
        if t.sub == "proxy" and t.res == "services":
            self._service_proxy(method, t.ns or "", t.name or "", t.rest or "/", raw_query)
        elif t.sub == "proxy":
            self._proxy(method, t.ns or "", t.name or "", t.rest or "/", raw_query)
        elif t.sub == "log":
            self._log(t.ns or "", t.name or "", query)
        elif t.sub == "exec":
            self._exec(t.ns or "", t.name or "", raw_query)
        elif t.sub == "scale":
            self._scale(method, t)
        elif method == "GET":  # status
            self._object("GET", t, query)
        else:
            raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on {t.res}/{t.sub}")

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

    # -- subresources ---------------------------------------------------------------------------
    def _scale(self, method: str, t: Target) -> None:
        store, ns, name = self.cluster.store, t.ns or "", t.name or ""

        def scale_of(obj: dict) -> dict:
            match = obj["spec"]["selector"].get("matchLabels") or {}
            return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                    "metadata": {k: obj["metadata"][k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                                 "creationTimestamp")},
                    "spec": {"replicas": obj["spec"].get("replicas", 1)},
                    "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                               "selector": ",".join(f"{k}={v}" for k, v in match.items())}}
        try:
            with store.lock:
                obj = store.get(t.res, ns, name)
                if method == "GET":
                    self._send(200, scale_of(obj))
                    return
                if method not in ("PUT", "PATCH"):
                    raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on {t.res}/scale")
                wanted = self._apply_patch(scale_of(obj)) if method == "PATCH" else self._body()
                replicas = ((wanted or {}).get("spec") or {}).get("replicas")
                if type(replicas) is not int or replicas < 0:
                    raise Invalid("spec.replicas", "must be a non-negative integer")
                rv = ((wanted or {}).get("metadata") or {}).get("resourceVersion")
                if method == "PUT" and rv and rv != obj["metadata"]["resourceVersion"]:
                    raise ApiError(409, "Conflict", "the object has been modified; please apply your changes "
                                                    "to the latest version and try again")
                updated = store.update(t.res, ns, name, lambda o: o["spec"].__setitem__("replicas", replicas))
                self._send(200, scale_of(updated))
        except NotFound:
            raise not_found(t.res, name) from None

    def _running(self, ns: str, name: str):
        runtime = self.cluster.runtime(ns, name)
        if runtime is None:
            try:
                self.cluster.store.get("pods", ns, name)
            except NotFound:
                raise not_found("pods", name) from None
            raise ApiError(400, "BadRequest", f'container in pod "{name}" is waiting to start: ContainerCreating')
        return runtime

    def _log(self, ns: str, name: str, query: dict) -> None:
        runtime = self._running(ns, name)
        truthy = ("true", "1", "True")
        previous, timestamps = query.get("previous") in truthy, query.get("timestamps") in truthy
        try:
            path, container = runtime.log_path(query.get("container"), previous)
            cutoff = podlog.since(query)
        except (LookupError, ValueError) as err:
            raise ApiError(400, "BadRequest", str(err)) from None
        follow = query.get("follow") in truthy and not previous
        reader = podlog.Reader(path)
        entries = [e for e in reader.read(final=not follow) if cutoff is None or e[0] >= cutoff]
        if (query.get("tailLines") or "").isdigit():
            entries = entries[len(entries) - int(query["tailLines"]):] if int(query["tailLines"]) else []
        limit = int(query["limitBytes"]) if (query.get("limitBytes") or "").isdigit() else None
        data = podlog.render(entries, timestamps)[:limit]
        if not follow:
            self._send(200, data, "text/plain")
            return
        self.close_connection = True
        stream = watch.Stream(self, "text/plain")
        stream.write(data)
        while stream.open and not self.cluster.stopping():
            alive = runtime.container_running(container, path)
            new = reader.read(final=not alive)
            if new:
                stream.write(podlog.render(new, timestamps))
            elif not alive or stream.client_gone():
                break
            else:
                time.sleep(LOG_POLL)
        stream.close()

    def _exec(self, ns: str, name: str, raw_query: str) -> None:
        query = urllib.parse.parse_qs(raw_query)
        argv = query.get("command") or []
        if not argv:
            raise ApiError(400, "BadRequest", "you must specify at least 1 command")
        runtime = self._running(ns, name)
        container = (query.get("container") or [None])[-1]
        try:
            env, cwd = runtime.exec_environment(container)
        except LookupError as err:
            raise ApiError(400, "BadRequest", str(err)) from None
        protocol = execws.negotiate(self.headers)
        if protocol is None:
            raise ApiError(400, "BadRequest", "exec needs a WebSocket upgrade with the v5.channel.k8s.io or "
                                              "v4.channel.k8s.io subprotocol (SPDY is not served)")
        self._read_raw()
        sock = execws.accept(self, protocol)
        execws.run(sock, argv, env, cwd, stdin=(query.get("stdin") or ["false"])[-1] in ("true", "1"),
                   register=runtime.track_exec)

    def _proxy(self, method: str, ns: str, name: str, rest: str, raw_query: str) -> None:
        pod_name, _, port = name.partition(":")
        runtime = self.cluster.runtime(ns, pod_name)
        if runtime is None:
            raise ApiError(404, "NotFound", f'pods "{pod_name}" not found or not running')
        host_port = runtime.host_port(port) if port else next(iter(runtime.ports.values()), None)
        if not host_port:
            raise ApiError(503, "ServiceUnavailable", f"pod {pod_name} has no port {port or '(none declared)'}")
        self._forward(method, host_port, rest, raw_query, f"pod {pod_name}")

    def _service_proxy(self, method: str, ns: str, name: str, rest: str, raw_query: str) -> None:
        """services/[scheme:]NAME[:PORT]/proxy: one Ready endpoint of the Service, as the API server picks."""
        parts = name.split(":")  # as the API server splits it: scheme:name:port, name:port or name
        if len(parts) > 3:
            raise ApiError(400, "BadRequest", f"invalid service proxy name {name!r}")
        if len(parts) == 3:
            scheme, parts = parts[0], parts[1:]
            if scheme not in ("", "http"):
                raise ApiError(400, "BadRequest", "the local cluster proxies to services over http only")
        svc, port = parts[0], (parts[1] if len(parts) > 1 else "")
        try:
            self.cluster.store.get("services", ns, svc)
        except NotFound:
            raise not_found("services", svc) from None
        host_port = self.cluster.services.endpoint(ns, svc, port)
        if not host_port:
            raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{svc}"')
        self._forward(method, host_port, rest, raw_query, f"service {svc}")

    def _forward(self, method: str, host_port: int, rest: str, raw_query: str, what: str) -> None:
        body = self._read_raw()
        conn = http.client.HTTPConnection("127.0.0.1", host_port, timeout=30)
        try:
            headers = {"Content-Type": self.headers.get("Content-Type", "application/octet-stream")} if body else {}
            conn.request(method, rest + (f"?{raw_query}" if raw_query else ""), body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as err:
            raise ApiError(503, "ServiceUnavailable", f"error trying to reach {what}: {err!r}") from None
        finally:
            conn.close()
        self._send(resp.status, data, resp.getheader("Content-Type", "application/octet-stream"))
