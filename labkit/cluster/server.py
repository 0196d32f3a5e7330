"""labkit's local cluster: a subset of the Kubernetes REST API on 127.0.0.1, pods as local processes.

See docs/local-cluster.md for exactly what is served.  The official ``kubernetes``
client talks to it unchanged (``LocalCluster.api_client()`` or the kubeconfig it writes).
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ..errors import ComponentError
from ..runtime import LOCALHOST, Run, http_probe, wait_until
from .controllers import Controllers
from .kubelet import PodRuntime
from .objects import KINDS, Invalid
from .patch import PatchError, json_patch, merge_patch, strategic_merge
from .store import Conflict, NotFound, Store

CORE = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/(?P<res>secrets|pods)"
                  r"(?:/(?P<name>[^/]+)(?:/(?P<sub>log|proxy|status)(?P<rest>/.*)?)?)?$")
APPS = re.compile(r"^/apis/apps/v1/namespaces/(?P<ns>[^/]+)/(?P<res>deployments|replicasets)"
                  r"(?:/(?P<name>[^/]+)(?:/(?P<sub>status|scale))?)?$")
ALL = re.compile(r"^/(?:api/v1|apis/apps/v1)/(?P<res>secrets|pods|deployments|replicasets)$")
PATCH_TYPES = {"application/json-patch+json": "json", "application/merge-patch+json": "merge",
               "application/strategic-merge-patch+json": "strategic"}


def status_body(code: int, reason: str, message: str, details: dict | None = None) -> dict[str, Any]:
    """The Kubernetes Status object every error is answered with."""
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure" if code >= 400 else "Success",
            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return body


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.body = status_body(code, reason, message, details)
        self.code = code


class LocalCluster:
    """The API stand-in, its controllers and its pods, all stopped with the run."""

    def __init__(self, run: Run, restart_backoff: tuple[float, float] = (1.0, 10.0),
                 targets_file: Path | None = None, tick: float = 0.1):
        self.run = run
        self.restart_backoff = restart_backoff
        self.targets_file = targets_file or run.dir / "cluster" / "targets.json"
        self.tick = tick
        self.store = Store()
        self.pods: dict[str, PodRuntime] = {}  # by uid
        self.faults: list[dict[str, Any]] = []
        self._faults_lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.url = ""
        self.kubeconfig = run.dir / "cluster" / "kubeconfig"
        self._targets_text = ""

    # -- start / stop -----------------------------------------------------------
    def start(self) -> LocalCluster:
        """Serve the API on a free port, start the controllers, write the kubeconfig."""
        self.kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        handler = type("Handler", (_Handler,), {"cluster": self})
        self._server = ThreadingHTTPServer((LOCALHOST, 0), handler)
        self._server.daemon_threads = True
        self.url = f"http://{LOCALHOST}:{self._server.server_address[1]}"
        for target, name in ((self._server.serve_forever, "k8s-api"), (self._control_loop, "k8s-controllers")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        wait_until(http_probe(f"{self.url}/version"), timeout=10, what="local cluster API")
        self.kubeconfig.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "labkit-local",
            "clusters": [{"name": "labkit-local", "cluster": {"server": self.url}}],
            "users": [{"name": "labkit", "user": {}}],
            "contexts": [{"name": "labkit-local", "context": {"cluster": "labkit-local", "user": "labkit",
                                                              "namespace": "default"}}],
        }, indent=2))
        self.run.add_cleanup("local cluster", self.stop)
        return self

    def stop(self) -> None:
        """Stop every pod (graceful, bounded), the controllers and the API."""
        if self._stop.is_set():
            return
        self._stop.set()
        for runtime in list(self.pods.values()):
            runtime.spec["terminationGracePeriodSeconds"] = min(
                float(runtime.spec.get("terminationGracePeriodSeconds", 30)), 5.0)
            runtime.terminate()
        for runtime in list(self.pods.values()):
            runtime.finished.wait(10)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for t in self._threads:
            t.join(timeout=5)

    def _control_loop(self) -> None:
        controllers = Controllers(self)
        while not self._stop.is_set():
            try:
                controllers.reconcile()
                self._write_targets()
            except Exception as err:  # a reconcile error must not kill the loop
                (self.run.logs / "cluster-controller.err").open("a").write(f"{type(err).__name__}: {err}\n")
            with self.store.changed:
                self.store.changed.wait(self.tick)

    def sync_pods(self) -> None:
        """Start a runtime for every new pod; terminate the ones marked for deletion or gone."""
        if self._stop.is_set():
            return
        pods = {p["metadata"]["uid"]: p for p in self.store.list("pods", None)}
        for uid, pod in pods.items():
            runtime = self.pods.get(uid)
            if runtime is None and not pod["metadata"].get("deletionTimestamp"):
                runtime = self.pods[uid] = PodRuntime(self, pod)
                runtime.start()
            elif runtime is not None and pod["metadata"].get("deletionTimestamp"):
                runtime.spec["terminationGracePeriodSeconds"] = pod["metadata"].get(
                    "deletionGracePeriodSeconds", runtime.spec.get("terminationGracePeriodSeconds", 30))
                runtime.terminate()
        for uid, runtime in list(self.pods.items()):
            if uid not in pods:
                runtime.terminate()
            if runtime.finished.is_set():
                del self.pods[uid]

    def runtime(self, namespace: str, name: str) -> PodRuntime | None:
        for r in self.pods.values():
            if r.ns == namespace and r.name == name and not r.finished.is_set():
                return r
        return None

    def _write_targets(self) -> None:
        """Prometheus file_sd: pods annotated prometheus.io/scrape=true, with app, pod, namespace labels."""
        groups = []
        for pod in self.store.list("pods", None):
            meta = pod["metadata"]
            ann = meta.get("annotations") or {}
            runtime = self.pods.get(meta["uid"])
            if ann.get("prometheus.io/scrape") != "true" or runtime is None or meta.get("deletionTimestamp"):
                continue
            port = runtime.host_port(ann.get("prometheus.io/port") or next(iter(runtime.ports), None))
            if not port:
                continue
            labels = {"app": meta["labels"].get("app", ""), "pod": meta["name"], "namespace": meta["namespace"]}
            if ann.get("prometheus.io/path"):
                labels["__metrics_path__"] = ann["prometheus.io/path"]
            groups.append({"targets": [f"{LOCALHOST}:{port}"], "labels": labels})
        text = json.dumps(sorted(groups, key=lambda g: g["labels"]["pod"]), indent=1)
        if text != self._targets_text:
            self.targets_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.targets_file.with_suffix(".tmp")
            tmp.write_text(text)
            tmp.replace(self.targets_file)  # atomic: Prometheus never reads half a file
            self._targets_text = text

    # -- helpers for labs and tests ----------------------------------------------
    def api_client(self):
        """An official kubernetes.client.ApiClient pointed at this cluster."""
        from kubernetes import client

        config = client.Configuration()
        config.host = self.url
        return client.ApiClient(config)

    def inject_fault(self, method: str, path: str, status: int, count: int = 1, message: str = "injected fault") -> None:
        """Fail the next `count` requests whose method matches and whose path starts with `path`."""
        with self._faults_lock:
            self.faults.append({"method": method.upper(), "path": path, "status": int(status), "count": int(count),
                                "message": message})

    def take_fault(self, method: str, path: str) -> dict | None:
        with self._faults_lock:
            for f in self.faults:
                if f["count"] > 0 and f["method"] in (method, "*") and path.startswith(f["path"]):
                    f["count"] -= 1
                    return f
        return None


class _Handler(BaseHTTPRequestHandler):
    cluster: LocalCluster
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _send(self, code: int, body: Any, ctype: str = "application/json", headers: dict | None = None) -> None:
        data = body if isinstance(body, bytes) else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
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
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiError(400, "BadRequest", "the request body is not JSON") from None

    def _handle(self, method: str) -> None:
        self._raw: bytes | None = None
        try:
            split = urllib.parse.urlsplit(self.path)
            fault = self.cluster.take_fault(method, urllib.parse.unquote(split.path))
            if fault is not None:
                self._read_raw()
                raise ApiError(fault["status"], "InternalError" if fault["status"] >= 500 else "Forbidden",
                               fault["message"])
            self._route(method, split)
        except ApiError as err:
            self._send(err.code, err.body)
        except Invalid as err:
            self._send(422, status_body(422, "Invalid", f"{err.field}: {err.message}",
                                        {"causes": [{"reason": "FieldValueInvalid", "message": err.message,
                                                     "field": err.field}]}))
        except PatchError as err:
            self._send(422, status_body(422, "Invalid", str(err)))
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = lambda self: self._handle("GET")  # noqa: E731
    do_POST = lambda self: self._handle("POST")  # noqa: E731
    do_PUT = lambda self: self._handle("PUT")  # noqa: E731
    do_PATCH = lambda self: self._handle("PATCH")  # noqa: E731
    do_DELETE = lambda self: self._handle("DELETE")  # noqa: E731

    def _route(self, method: str, split: urllib.parse.SplitResult) -> None:
        query = dict(urllib.parse.parse_qsl(split.query))
        path = split.path
        if path in ("/version", "/healthz", "/livez", "/readyz"):
            self._send(200, {"major": "1", "minor": "31", "gitVersion": "v1.31.0-labkit", "platform": "linux/amd64"}
                       if path == "/version" else "ok", "application/json" if path == "/version" else "text/plain")
            return
        if m := CORE.match(path) or APPS.match(path):
            ns, res = urllib.parse.unquote(m["ns"]), m["res"]
            name = urllib.parse.unquote(m["name"]) if m["name"] else None
            sub, rest = m["sub"], m.groupdict().get("rest")
            if sub == "proxy":
                self._proxy(method, ns, name, urllib.parse.unquote(rest or "/"), split.query)
            elif sub == "log":
                self._log(ns, name, query)
            elif sub:
                raise ApiError(404, "NotFound", f"the {sub} subresource is not served by the local cluster")
            else:
                self._resource(method, ns, res, name, query)
            return
        if m := ALL.match(path):
            if method != "GET":
                raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on {path}")
            self._list(None, m["res"], query)
            return
        raise ApiError(404, "NotFound", f"the local cluster does not serve {path}")

    def _list(self, ns: str | None, res: str, query: dict) -> None:
        store = self.cluster.store
        items = store.list(res, ns, query.get("labelSelector"))
        field = query.get("fieldSelector")
        if field:
            key, _, value = field.partition("=")
            items = [i for i in items if _field(i, key.strip()) == value.strip()]
        api_version, kind = KINDS[res]
        self._send(200, {"apiVersion": api_version, "kind": f"{kind}List",
                         "metadata": {"resourceVersion": store.version()}, "items": items})

    def _resource(self, method: str, ns: str, res: str, name: str | None, query: dict) -> None:
        store = self.cluster.store
        kind = KINDS[res][1]
        try:
            if name is None:
                if method == "GET":
                    self._list(ns, res, query)
                elif method == "POST":
                    self._send(201, store.create(res, ns, self._body()))
                else:
                    raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on a {kind} collection")
                return
            if method == "GET":
                self._send(200, store.get(res, ns, name))
            elif method == "PUT":
                self._send(200, store.replace(res, ns, name, self._body()))
            elif method == "PATCH":
                self._send(200, self._patch(res, ns, name))
            elif method == "DELETE":
                self._body()
                self._delete(res, ns, name, kind)
            else:
                raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on a {kind}")
        except NotFound:
            raise ApiError(404, "NotFound", f'{res} "{name}" not found',
                           {"name": name, "kind": res}) from None
        except Conflict as err:
            code, reason = (409, "AlreadyExists") if "exists" in str(err) else (409, "Conflict")
            raise ApiError(code, reason, str(err), {"name": name, "kind": res}) from None

    def _patch(self, res: str, ns: str, name: str) -> dict:
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        kind = PATCH_TYPES.get(ctype)
        if kind is None:
            raise ApiError(415, "UnsupportedMediaType", f"the local cluster does not support patch type {ctype!r}")
        patch = self._body()
        store = self.cluster.store
        with store.lock:
            current = store.get(res, ns, name)
            if kind == "json":
                patched = json_patch(current, patch)
            elif kind == "merge":
                patched = merge_patch(current, patch)
            else:
                patched = strategic_merge(current, patch)
            patched.get("metadata", {}).pop("resourceVersion", None)
            return store.replace(res, ns, name, patched)

    def _delete(self, res: str, ns: str, name: str, kind: str) -> None:
        store = self.cluster.store
        if res == "pods":
            pod = store.mark_deleting(res, ns, name)
            if not self.cluster.runtime(ns, name):
                store.delete(res, ns, name)  # nothing runs it: gone at once
            self._send(200, pod)
            return
        obj = store.delete(res, ns, name)
        self._send(200, status_body(200, "", "", {"name": name, "kind": res, "uid": obj["metadata"]["uid"]}))

    def _log(self, ns: str, name: str, query: dict) -> None:
        runtime = self.cluster.runtime(ns, name)
        if runtime is None:
            try:
                self.cluster.store.get("pods", ns, name)
            except NotFound:
                raise ApiError(404, "NotFound", f'pods "{name}" not found') from None
            raise ApiError(400, "BadRequest", f'container in pod "{name}" is waiting to start')
        try:
            text = runtime.log(query.get("container"), query.get("previous") in ("true", "1", "True"))
        except LookupError as err:
            raise ApiError(400, "BadRequest", str(err)) from None
        if query.get("tailLines"):
            text = "".join(text.splitlines(keepends=True)[-int(query["tailLines"]):])
        self._send(200, text, "text/plain")

    def _proxy(self, method: str, ns: str, name: str, rest: str, raw_query: str) -> None:
        pod_name, _, port = name.partition(":")
        runtime = self.cluster.runtime(ns, pod_name)
        if runtime is None:
            raise ApiError(404, "NotFound", f'pods "{pod_name}" not found or not running')
        host_port = runtime.host_port(port) if port else next(iter(runtime.ports.values()), None)
        if not host_port:
            raise ApiError(503, "ServiceUnavailable", f"pod {pod_name} has no port {port or '(none declared)'}")
        body = self._read_raw()
        conn = http.client.HTTPConnection(LOCALHOST, host_port, timeout=30)
        try:
            headers = {"Content-Type": self.headers.get("Content-Type", "application/octet-stream")} if body else {}
            conn.request(method, rest + (f"?{raw_query}" if raw_query else ""), body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except OSError as err:
            raise ApiError(503, "ServiceUnavailable", f"error trying to reach pod {pod_name}: {err}") from None
        finally:
            conn.close()
        self._send(resp.status, data, resp.getheader("Content-Type", "application/octet-stream"))


def _field(obj: dict, path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return "" if node is None else str(node)


def start_cluster(run: Run, **options: Any) -> LocalCluster:
    """Start a local cluster in this process, stopped with the run."""
    try:
        return LocalCluster(run, **options).start()
    except OSError as err:
        raise ComponentError(f"cannot start the local cluster: {err}") from None
