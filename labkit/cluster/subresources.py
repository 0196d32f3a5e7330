"""The API server's pod and workload subresources: scale, log, exec, and the pod and Service
proxies - the part of the HTTP handler that reaches running processes."""

from __future__ import annotations

import http.client
import time
import urllib.parse
from typing import TYPE_CHECKING

from . import execws, podlog, watch
from .invalid import Invalid
from .requests import ApiError, Target, not_found
from .store import NotFound

if TYPE_CHECKING:
    from .server import LocalCluster

LOG_POLL = 0.2


class Subresources:
    """Mixed into the handler: what the handler's routing sends to a subresource."""

    cluster: LocalCluster

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
