"""Services on the local cluster: Endpoints, a balancing loopback port per Service port, service env.

Kubernetes semantics, with one local difference: there are no virtual IPs, so each
ClusterIP Service port is a TCP listener on 127.0.0.1 and a free port. Pods see it the
way Kubernetes shows a Service to pods created after it - ``<NAME>_SERVICE_HOST`` and
``<NAME>_SERVICE_PORT`` (and ``_PORT_<PORTNAME>``) - so a manifest that reads those
variables (``$(POSTGRES_SERVICE_HOST)``) runs unchanged on both clusters. Connections
go round-robin to the Ready, non-terminating pods the selector matches; a pod that
leaves Ready gets no new connections, the ones it has are left alone (as conntrack).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..waiting import LOCALHOST
from .listener import Listener
from .objects import NODE, now
from .store import NotFound, Store

if TYPE_CHECKING:
    from .kubelet import PodRuntime

PORTS_ANNOTATION = "labkit.dev/ports"  # where a local Service's ports listen, shown to people
REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: a defined VAR is replaced, an undefined one left as written,
    $$ is a literal $."""
    def sub(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))

    return REF.sub(sub, value)


def env_name(service: str) -> str:
    """The environment-variable prefix of a Service (MY_SVC for my-svc)."""
    return service.upper().replace("-", "_")


def service_env(services: list[dict], local_port: Callable[[dict, dict], int]) -> dict[str, str]:
    """The variables Kubernetes gives a pod for each Service of its namespace that has a cluster IP;
    local_port(service, port) is where that Service port listens here."""
    env: dict[str, str] = {}
    for svc in services:
        spec = svc.get("spec") or {}
        if spec.get("clusterIP") in (None, "", "None") or not spec.get("ports"):
            continue
        name = env_name(svc["metadata"]["name"])
        ports = spec["ports"]
        env[f"{name}_SERVICE_HOST"] = LOCALHOST
        env[f"{name}_SERVICE_PORT"] = str(local_port(svc, ports[0]))
        for p in ports:
            if p.get("name"):
                env[f"{name}_SERVICE_PORT_{env_name(p['name'])}"] = str(local_port(svc, p))
    return env


def _container_port(pod: dict, port: dict) -> int | None:
    """A Service port's targetPort as the pod's container port number."""
    target = port.get("targetPort", port["port"])
    if isinstance(target, int) or str(target).isdigit():
        return int(target)
    for c in pod["spec"]["containers"]:
        for p in c.get("ports") or []:
            if p.get("name") == target:
                return p["containerPort"]
    return None


class Services:
    """The endpoints controller and the service proxy of the local cluster, in one reconcile pass."""

    def __init__(self, store: Store, runtime: Callable[[str, str], PodRuntime | None], stopping: Callable[[], bool]):
        self.store = store
        self.runtime = runtime  # the running pod of a namespace and name, or None
        self.stopping = stopping  # the cluster is shutting down
        self.listeners: dict[tuple[str, int], Listener] = {}  # (service uid, port) -> listener
        self.backends: dict[tuple[str, str, int], list[int]] = {}  # (ns, name, port) -> Ready pods' host ports
        self.managed: set[tuple[str, str]] = set()  # the Endpoints this controller wrote
        self._lock = threading.Lock()

    def listener(self, svc: dict, port: dict) -> Listener:
        """The listener of a Service port, opened on first use: by the control loop, or by a pod
        that starts right after the Service was created (its variables must name it)."""
        key = (svc["metadata"]["uid"], port["port"])
        with self._lock:
            if key not in self.listeners:
                self.listeners[key] = Listener(f"{svc['metadata']['namespace']}/{svc['metadata']['name']}:"
                                               f"{port['port']}")
            return self.listeners[key]

    def local_port(self, svc: dict, port: dict) -> int:
        """The local port a Service port is reachable on."""
        return self.listener(svc, port).port

    def reconcile(self) -> None:
        """Listeners for every Service port, and Endpoints from the Ready pods."""
        if self.stopping():
            return
        backends: dict[tuple[str, str, int], list[int]] = {}
        for svc in self.store.list("services", None):
            meta, spec = svc["metadata"], svc.get("spec") or {}
            ns, name = meta["namespace"], meta["name"]
            ports = spec.get("ports") or []
            endpoints = self._endpoints(svc) if spec.get("selector") else None
            local: dict[str, int] = {}
            for port in ports:
                hosts = [h for _, h in (endpoints or {}).get(port["port"], []) if h]
                backends[(ns, name, port["port"])] = hosts
                if spec.get("clusterIP") == "None":
                    continue
                listener = self.listener(svc, port)
                listener.backends = hosts
                local[str(port["port"])] = listener.port
            text = json.dumps(local, sort_keys=True)
            if local and (meta.get("annotations") or {}).get(PORTS_ANNOTATION) != text:
                with contextlib.suppress(NotFound):
                    self.store.update("services", ns, name,
                                      lambda o, t=text: o["metadata"]["annotations"].__setitem__(PORTS_ANNOTATION, t))
            if endpoints is not None:
                self._write_endpoints(svc, endpoints)
        with self._lock:  # what exists now: a pod may have opened a listener for a Service made since
            current = {(s["metadata"]["uid"], p["port"]) for s in self.store.list("services", None)
                       if (s.get("spec") or {}).get("clusterIP") != "None" for p in s["spec"].get("ports") or []}
            for key in set(self.listeners) - current:
                self.listeners.pop(key).close()
        services = {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in self.store.list("services", None)}
        for ns, name in self.managed - services:  # a Service's Endpoints go with it
            with contextlib.suppress(NotFound):
                self.store.delete("endpoints", ns, name)
            self.managed.discard((ns, name))
        self.backends = backends

    def _endpoints(self, svc: dict) -> dict[int, list[tuple[dict, int]]]:
        """Per Service port: (address, host port) for every matching pod; Ready ones have a host port."""
        selector = ",".join(f"{k}={v}" for k, v in svc["spec"]["selector"].items())
        out: dict[int, list[tuple[dict, int]]] = {}
        for pod in self.store.list("pods", svc["metadata"]["namespace"], selector):
            runtime = self.runtime(pod["metadata"]["namespace"], pod["metadata"]["name"])
            if pod["metadata"].get("deletionTimestamp") or runtime is None:
                continue
            ready = runtime.ready()
            for port in svc["spec"].get("ports") or []:
                number = _container_port(pod, port)
                host = runtime.ports.get(number) if number else None
                if number is None:
                    continue
                address = {"ip": LOCALHOST, "nodeName": NODE,
                           "targetRef": {"kind": "Pod", "namespace": pod["metadata"]["namespace"],
                                         "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}}
                out.setdefault(port["port"], []).append(({**address, "_ready": ready, "_port": number},
                                                         host if ready and host else 0))
        return out

    def _write_endpoints(self, svc: dict, endpoints: dict[int, list[tuple[dict, int]]]) -> None:
        subsets: dict[str, dict[str, Any]] = {}
        for port in svc["spec"].get("ports") or []:
            for address, _ in endpoints.get(port["port"], []):
                key = str(address["_port"])
                entry = subsets.setdefault(key, {"addresses": [], "notReadyAddresses": [], "ports": []})
                clean = {k: v for k, v in address.items() if not k.startswith("_")}
                bucket = entry["addresses"] if address["_ready"] else entry["notReadyAddresses"]
                if clean not in bucket:
                    bucket.append(clean)
                ep_port = {"port": address["_port"], "protocol": port.get("protocol", "TCP"),
                           **({"name": port["name"]} if port.get("name") else {})}
                if ep_port not in entry["ports"]:
                    entry["ports"].append(ep_port)
        body = {"metadata": {"name": svc["metadata"]["name"], "labels": dict(svc["metadata"].get("labels") or {})},
                "subsets": [{k: sorted(v, key=json.dumps) if k != "ports" else v for k, v in s.items() if v}
                            for s in subsets.values()]}
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        self.managed.add((ns, name))
        if not body["subsets"]:
            del body["subsets"]
        try:
            old = self.store.get("endpoints", ns, name)
        except NotFound:
            self.store.create("endpoints", ns, body)
            return
        if old.get("subsets") != body.get("subsets") or old["metadata"].get("labels") != body["metadata"]["labels"]:
            body["metadata"]["annotations"] = {"endpoints.kubernetes.io/last-change-trigger-time": now()}
            self.store.replace("endpoints", ns, name, body)

    def endpoint(self, ns: str, name: str, port: str) -> int | None:
        """A Ready pod's host port for a Service port (its number, name, or empty for the first)."""
        try:
            svc = self.store.get("services", ns, name)
        except NotFound:
            return None
        ports = (svc.get("spec") or {}).get("ports") or []
        chosen = next((p for p in ports if not port or p.get("name") == port or str(p["port"]) == port), None)
        if chosen is None:
            return None
        hosts = self.backends.get((ns, name, chosen["port"])) or []
        return hosts[next(_pick) % len(hosts)] if hosts else None

    def close(self) -> None:
        """Close every Service listener."""
        with self._lock:
            for listener in self.listeners.values():
                listener.close()
            self.listeners.clear()


_pick = itertools.count()
