"""labkit's local cluster: a subset of the Kubernetes REST API on 127.0.0.1, pods as local processes.

See docs/local-cluster.md for exactly what is served.  Real clients talk to it
unchanged through the kubeconfig it writes (kubectl, the official Python client),
with the bearer token that kubeconfig holds.  This module is the cluster object:
start and stop, the control loop, pods' runtimes; the HTTP side is handler.py.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
from pathlib import Path
from typing import Any

from ..errors import ComponentError
from ..httpserver import QuietHTTPServer
from ..paths import write_private
from ..runtime import Run
from ..waiting import LOCALHOST, http_probe, wait_until
from .controllers import Controllers
from .events import Recorder
from .handler import Handler
from .kubelet import PodRuntime
from .services import Services
from .store import NotFound, Store
from .tls import client_context, make_certificates

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def kubeconfig_text(url: str, token: str, ca: Path) -> str:
    """A kubeconfig for the local API server: its URL, its CA and a bearer token."""
    ca_data = base64.b64encode(ca.read_bytes()).decode()
    return json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "labkit-local", "preferences": {},
        "clusters": [{"name": "labkit-local", "cluster": {"server": url, "certificate-authority-data": ca_data}}],
        "users": [{"name": "labkit", "user": {"token": token}}],
        "contexts": [{"name": "labkit-local", "context": {"cluster": "labkit-local", "user": "labkit",
                                                          "namespace": "default"}}],
    }, indent=2)


class LocalCluster:
    """The API stand-in, its controllers and its pods, all stopped with the run."""

    def __init__(self, run: Run, restart_backoff: tuple[float, float] = (1.0, 10.0), tick: float = 1.0):
        self.run = run
        self.restart_backoff = restart_backoff
        self.tick = tick
        self.store = Store()
        self.pods: dict[str, PodRuntime] = {}  # by uid
        self.faults: list[dict[str, Any]] = []
        self._faults_lock = threading.Lock()
        self._server: QuietHTTPServer | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.url = ""
        self.kubeconfig = run.dir / "cluster" / "kubeconfig"
        self.error_log = run.dir / "api-server-errors.log"  # what the handlers could not answer; never stderr
        self.token = secrets.token_urlsafe(32)
        self.events = Recorder(self.store)
        self.services = Services(self.store, self.runtime, self.stopping)
        for ns in SYSTEM_NAMESPACES:
            self.store.create("namespaces", "", {"metadata": {"name": ns}})

    # -- start / stop -----------------------------------------------------------
    def start(self) -> LocalCluster:
        """Serve the API on a free port, start the controllers, write the kubeconfig."""
        self.kubeconfig.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.kubeconfig.parent, 0o700)
        self.ca_file, context = make_certificates(self.kubeconfig.parent)
        handler = type("Handler", (Handler,), {"cluster": self})
        self._server = QuietHTTPServer((LOCALHOST, 0), handler, self.error_log)
        # The handshake happens in each connection's own thread, on its first read.
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True,
                                                  do_handshake_on_connect=False)
        self.url = f"https://{LOCALHOST}:{self._server.server_address[1]}"
        for target, name in ((self._server.serve_forever, "k8s-api"), (self._control_loop, "k8s-controllers")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        wait_until(http_probe(f"{self.url}/version", context=client_context(self.ca_file)), timeout=10,
                   what="local cluster API")
        write_private(self.kubeconfig, kubeconfig_text(self.url, self.token, self.ca_file))
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
        self.services.close()  # after the control loop: it opens listeners

    def stopping(self) -> bool:
        """The cluster is shutting down."""
        return self._stop.is_set()

    def orphan_dependents(self, owner: dict) -> None:
        """propagationPolicy=Orphan: the owner's dependents lose their ownerReference and stay."""
        uid = owner["metadata"]["uid"]

        def drop(obj: dict) -> None:
            obj["metadata"]["ownerReferences"] = [r for r in obj["metadata"].get("ownerReferences") or []
                                                  if r.get("uid") != uid]

        for resource in ("replicasets", "pods"):
            for obj in self.store.list(resource, owner["metadata"].get("namespace")):
                if any(r.get("uid") == uid for r in obj["metadata"].get("ownerReferences") or []):
                    try:
                        self.store.update(resource, obj["metadata"]["namespace"], obj["metadata"]["name"], drop)
                    except NotFound:
                        pass

    def _control_loop(self) -> None:
        """The controllers, driven by the store's changes as watches drive real ones: a pass after
        every write (the kubelets publish pod status as a write), and a resync every `tick` -
        not a full pass every tenth of a second whether or not anything changed."""
        controllers = Controllers(self.store, self.events, self.sync_pods)
        seen = None
        while not self._stop.is_set():
            with self.store.changed:
                if self.store.version() == seen:  # nothing written since the last pass began
                    self.store.changed.wait(self.tick)
                seen = self.store.version()
            try:
                controllers.reconcile()
                self.services.reconcile()
            except Exception as err:  # a reconcile error must not kill the loop
                (self.run.logs / "cluster-controller.err").open("a").write(f"{type(err).__name__}: {err}\n")

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
        """The running pod of that name, or None."""
        for r in self.pods.values():
            if r.ns == namespace and r.name == name and not r.finished.is_set():
                return r
        return None

    # -- helpers for labs and tests ----------------------------------------------
    def api_client(self):
        """An official kubernetes.client.ApiClient pointed at this cluster, with its token."""
        from kubernetes import client

        config = client.Configuration()
        config.host = self.url
        config.ssl_ca_cert = str(self.ca_file)
        config.api_key = {"authorization": self.token}
        config.api_key_prefix = {"authorization": "Bearer"}
        return client.ApiClient(config)

    def inject_fault(self, method: str, path: str, status: int, count: int = 1, message: str = "injected fault") -> None:
        """Fail the next `count` requests whose method matches and whose path starts with `path`."""
        with self._faults_lock:
            self.faults.append({"method": method.upper(), "path": path, "status": int(status), "count": int(count),
                                "message": message})

    def take_fault(self, method: str, path: str) -> dict | None:
        """A fault injected for this request (tests), once; None when there is none."""
        with self._faults_lock:
            for f in self.faults:
                if f["count"] > 0 and f["method"] in (method, "*") and path.startswith(f["path"]):
                    f["count"] -= 1
                    return f
        return None


def start_cluster(run: Run, **options: Any) -> LocalCluster:
    """Start a local cluster in this process, stopped with the run."""
    try:
        return LocalCluster(run, **options).start()
    except OSError as err:
        raise ComponentError(f"cannot start the local cluster: {err}") from None
