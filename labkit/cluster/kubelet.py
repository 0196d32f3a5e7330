"""A pod as local processes: environment resolved at start, ports mapped, probes, restarts, termination."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..runtime import ManagedProcess, free_port
from .objects import now
from .programs import argv_for
from .store import NotFound

if TYPE_CHECKING:
    from .server import LocalCluster

TICK = 0.05
NODE = "labkit-local"
# What a container runtime gives a process whose image sets no PATH.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ConfigError(Exception):
    """The pod cannot start yet: a missing Secret or key, an unknown image."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass
class Container:
    """One container's runtime state."""

    spec: dict[str, Any]
    proc: ManagedProcess | None = None
    restarts: int = 0
    ready: bool = False
    started_at: str | None = None
    started_mono: float = 0.0
    waiting: tuple[str, str] | None = ("ContainerCreating", "")
    last_terminated: dict[str, Any] | None = None
    next_start: float = 0.0
    successes: int = 0
    failures: int = 0
    next_probe: float = 0.0
    env: dict[str, str] = field(default_factory=dict)
    full_env: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec["name"]


class PodRuntime:
    """Runs one pod's containers on 127.0.0.1 for as long as the pod exists."""

    def __init__(self, cluster: LocalCluster, pod: dict[str, Any]):
        self.cluster = cluster
        self.ns, self.name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        self.uid = pod["metadata"]["uid"]
        self.spec = pod["spec"]
        self.containers = [Container(c) for c in self.spec["containers"]]
        self.ports: dict[int, int] = {}
        for c in self.spec["containers"]:
            for p in c.get("ports") or []:
                self.ports[p["containerPort"]] = free_port()
        self._stop = threading.Event()
        self.finished = threading.Event()
        self.started_time = now()
        self.execs: set = set()
        self._ref = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": self.name, "namespace": self.ns,
                                                                     "uid": self.uid}}
        self.thread = threading.Thread(target=self._main, name=f"pod-{self.name}", daemon=True)

    def _event(self, reason: str, message: str, c: Container | None = None, warning: bool = False,
               component: str = "kubelet") -> None:
        self.cluster.events.record(self._ref, "Pod", reason, message, component, warning,
                                   f"spec.containers{{{c.name}}}" if c else "")

    # -- lifecycle -------------------------------------------------------
    def start(self) -> None:
        self.thread.start()

    def terminate(self) -> None:
        """Begin graceful termination (not Ready at once, then SIGTERM, then SIGKILL)."""
        self._stop.set()

    def _main(self) -> None:
        try:
            self._event("Scheduled", f"Successfully assigned {self.ns}/{self.name} to {NODE}",
                        component="default-scheduler")
            self._publish()
            while not self._stop.is_set():
                self._tick()
                self._stop.wait(TICK)
            self._shutdown()
        finally:
            self.finished.set()

    def _tick(self) -> None:
        changed = False
        for c in self.containers:
            changed |= self._supervise(c)
            changed |= self._probe(c)
        if changed:
            self._publish()

    # -- containers -------------------------------------------------------
    def _resolve_env(self, c: Container) -> dict[str, str]:
        env = {"PATH": os.environ.get("PATH") or DEFAULT_PATH, "HOSTNAME": self.name, "POD_NAME": self.name,
               "POD_NAMESPACE": self.ns, "PYTHONUNBUFFERED": "1"}
        own = [p["containerPort"] for p in c.spec.get("ports") or []]
        if own:
            env["PORT"] = str(self.ports[own[0]])
        for port in own:
            env[f"PORT_{port}"] = str(self.ports[port])
        for src in c.spec.get("envFrom") or []:
            ref = src.get("secretRef") or {}
            if ref.get("name"):
                data = self._secret(ref["name"], ref.get("optional", False))
                prefix = src.get("prefix", "")
                env.update({prefix + k: v for k, v in (data or {}).items()})
        for e in c.spec.get("env") or []:
            if "valueFrom" not in e or e.get("valueFrom") is None:
                env[e["name"]] = e.get("value") or ""
                continue
            vf = e["valueFrom"]
            if vf.get("secretKeyRef"):
                ref = vf["secretKeyRef"]
                data = self._secret(ref.get("name", ""), ref.get("optional", False))
                if data is None:
                    continue
                if ref.get("key") not in data:
                    if ref.get("optional"):
                        continue
                    raise ConfigError("CreateContainerConfigError",
                                      f"couldn't find key {ref.get('key')} in Secret {self.ns}/{ref.get('name')}")
                env[e["name"]] = data[ref["key"]]
            elif vf.get("fieldRef"):
                path = vf["fieldRef"].get("fieldPath")
                env[e["name"]] = {"metadata.name": self.name, "metadata.namespace": self.ns,
                                  "status.podIP": "127.0.0.1"}.get(path, "")
        return env

    def _secret(self, name: str, optional: bool) -> dict[str, str] | None:
        try:
            secret = self.cluster.store.get("secrets", self.ns, name)
        except NotFound:
            if optional:
                return None
            raise ConfigError("CreateContainerConfigError", f'secret "{name}" not found') from None
        return {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in (secret.get("data") or {}).items()}

    def _start(self, c: Container) -> None:
        try:
            argv = argv_for(c.spec)
        except LookupError as err:
            raise ConfigError("ErrImagePull", str(err)) from None
        c.env = self._resolve_env(c)  # read now: a pod sees the Secret as it is at start
        log_name = f"{self.ns}.{self.name}.{c.name}.{c.restarts}"
        self._event("Pulled", f'Container image "{c.spec.get("image", "")}" already present on machine', c)
        c.proc = self.cluster.run.start_process(log_name, argv, env=c.env, inherit_env=False,
                                                cwd=c.spec.get("workingDir") or None, stamped=True)
        c.full_env = self.cluster.run.process_env(c.env, inherit_env=False)
        self._event("Created", f"Created container: {c.name}", c)
        self._event("Started", f"Started container {c.name}", c)
        c.started_at, c.started_mono, c.waiting = now(), time.monotonic(), None
        c.successes = c.failures = 0
        probe = c.spec.get("readinessProbe") or {}
        c.next_probe = c.started_mono + float(probe.get("initialDelaySeconds", 0))
        c.ready = not probe

    def _supervise(self, c: Container) -> bool:
        if c.proc is None:
            if time.monotonic() < c.next_start:
                return False
            try:
                self._start(c)
            except ConfigError as err:
                changed = c.waiting != (err.reason, str(err))
                if changed:
                    self._event("Failed", f"Error: {err}", c, warning=True)
                c.waiting = (err.reason, str(err))
                c.next_start = time.monotonic() + 1.0
                return changed
            return True
        code = c.proc.popen.poll()
        if code is None:
            return False
        self.cluster.run.stop_process(c.proc)
        c.last_terminated = {"exitCode": int(code), "reason": "Completed" if code == 0 else "Error",
                             "startedAt": c.started_at, "finishedAt": now()}
        c.proc, c.ready = None, False
        policy = self.spec.get("restartPolicy", "Always")
        if policy == "Never" or (policy == "OnFailure" and code == 0):
            c.waiting = ("Terminated", "")
            c.next_start = float("inf")
            return True
        base, cap = self.cluster.restart_backoff
        delay = min(cap, base * (2 ** c.restarts))
        c.restarts += 1
        c.waiting = ("CrashLoopBackOff", f"back-off {delay:g}s restarting failed container={c.name} pod={self.name}")
        self._event("BackOff", f"Back-off restarting failed container {c.name} in pod {self.name}", c, warning=True)
        c.next_start = time.monotonic() + delay
        return True

    def host_port(self, port: Any, c: Container | None = None) -> int | None:
        """The 127.0.0.1 port for a container port number or name."""
        if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
            return self.ports.get(int(port))
        for cont in ([c.spec] if c else self.spec["containers"]):
            for p in cont.get("ports") or []:
                if p.get("name") == port:
                    return self.ports.get(p["containerPort"])
        return None

    def _probe(self, c: Container) -> bool:
        probe = c.spec.get("readinessProbe")
        if not probe or c.proc is None or time.monotonic() < c.next_probe:
            return False
        c.next_probe = time.monotonic() + float(probe.get("periodSeconds", 10))
        ok, why = False, "no such port"
        get = probe.get("httpGet") or {}
        port = self.host_port(get.get("port"), c)
        if port:
            url = f"http://127.0.0.1:{port}{get.get('path', '/')}"
            try:
                with urllib.request.urlopen(url, timeout=float(probe.get("timeoutSeconds", 1))) as resp:
                    ok = 200 <= resp.status < 400
                    why = f"HTTP probe failed with statuscode: {resp.status}"
            except urllib.error.HTTPError as err:
                ok = 200 <= err.code < 400
                why = f"HTTP probe failed with statuscode: {err.code}"
            except (OSError, ValueError) as err:
                ok, why = False, f'Get "{url}": {getattr(err, "reason", None) or err}'
        if not ok:
            self._event("Unhealthy", f"Readiness probe failed: {why}", c, warning=True)
        before = c.ready
        if ok:
            c.successes, c.failures = c.successes + 1, 0
            if c.successes >= int(probe.get("successThreshold", 1)):
                c.ready = True
        else:
            c.failures, c.successes = c.failures + 1, 0
            if c.failures >= int(probe.get("failureThreshold", 3)) or not c.ready:
                c.ready = False
        return before != c.ready

    def _shutdown(self) -> None:
        for c in self.containers:
            c.ready = False
            if c.proc is not None:
                self._event("Killing", f"Stopping container {c.name}", c)
        self._publish()
        for proc in list(self.execs):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        grace = float(self.spec.get("terminationGracePeriodSeconds", 30))
        procs = [c.proc for c in self.containers if c.proc is not None]
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(p.popen.poll() is None for p in procs):
            time.sleep(TICK)
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            self.cluster.run.stop_process(proc)
        for c in self.containers:
            c.proc = None
        with self.cluster.store.lock:
            try:
                if self.cluster.store.get("pods", self.ns, self.name)["metadata"]["uid"] == self.uid:
                    self.cluster.store.delete("pods", self.ns, self.name)
            except NotFound:
                pass

    # -- status -----------------------------------------------------------
    def ready(self) -> bool:
        return all(c.ready for c in self.containers) and not self._stop.is_set()

    def _container_status(self, c: Container) -> dict[str, Any]:
        if c.proc is not None:
            state: dict[str, Any] = {"running": {"startedAt": c.started_at}}
        elif c.waiting and c.waiting[0] == "Terminated" and c.last_terminated:
            state = {"terminated": c.last_terminated}
        else:
            reason, message = c.waiting or ("ContainerCreating", "")
            state = {"waiting": {"reason": reason, "message": message}}
        status = {"name": c.name, "image": c.spec.get("image", ""), "imageID": "", "ready": c.ready,
                  "restartCount": c.restarts, "started": c.proc is not None, "state": state,
                  "containerID": f"local://{c.proc.pid}" if c.proc else None}
        status["lastState"] = {"terminated": c.last_terminated} if c.last_terminated else {}
        return status

    def _publish(self) -> None:
        """Write the pod's status (and its port map) to the store."""
        statuses = [self._container_status(c) for c in self.containers]
        running = all(c.proc is not None for c in self.containers)
        ready = self.ready()
        stamp = now()

        def cond(kind: str, ok: bool) -> dict[str, Any]:
            return {"type": kind, "status": "True" if ok else "False", "lastTransitionTime": stamp}

        def update(pod: dict) -> None:
            if pod["metadata"]["uid"] != self.uid:
                return
            pod["spec"].setdefault("nodeName", NODE)
            pod["metadata"]["annotations"]["labkit.dev/ports"] = json.dumps(
                {str(k): v for k, v in self.ports.items()})
            old = {c["type"]: c for c in (pod.get("status") or {}).get("conditions", [])}
            conditions = []
            for kind, ok in (("Initialized", True), ("Ready", ready), ("ContainersReady", ready),
                             ("PodScheduled", True)):
                new = cond(kind, ok)
                if kind in old and old[kind]["status"] == new["status"]:
                    new["lastTransitionTime"] = old[kind].get("lastTransitionTime", stamp)
                conditions.append(new)
            pod["status"] = {
                "phase": "Running" if running or pod["status"].get("phase") == "Running" else "Pending",
                "conditions": conditions, "hostIP": "127.0.0.1", "podIP": "127.0.0.1",
                "podIPs": [{"ip": "127.0.0.1"}], "startTime": self.started_time, "qosClass": "BestEffort",
                "containerStatuses": statuses,
            }

        try:
            self.cluster.store.update("pods", self.ns, self.name, update)
        except NotFound:
            pass

    def _container(self, name: str | None) -> Container:
        c = next((x for x in self.containers if name in (None, x.name)), None)
        if c is None:
            raise LookupError(f"container {name} is not valid for pod {self.name}")
        return c

    def log_path(self, container: str | None, previous: bool) -> tuple[Path, Container]:
        """The file of a container's output (its previous run with previous=True)."""
        c = self._container(container)
        restart = c.restarts - 1 if previous else c.restarts
        if previous and restart < 0:
            raise LookupError(f'previous terminated container "{c.name}" in pod "{self.name}" not found')
        return self.cluster.run.logs / f"{self.ns}.{self.name}.{c.name}.{restart}.out", c

    def container_running(self, c: Container, path: Path) -> bool:
        """True while the container run that writes path is alive (kubectl logs -f follows it)."""
        return (not self.finished.is_set() and c.proc is not None and c.proc.log_path == path
                and c.proc.popen.poll() is None)

    def exec_environment(self, container: str | None) -> tuple[dict[str, str], str | None]:
        """What `kubectl exec` runs in: the container's environment as at its start, its working directory."""
        c = self._container(container)
        if c.proc is None:
            raise LookupError(f'container "{c.name}" in pod "{self.name}" is not running')
        return dict(c.full_env), c.spec.get("workingDir") or None

    def track_exec(self, proc: Any) -> None:
        """An exec'd process: killed with the pod (and by its own connection's end)."""
        self.execs = {p for p in self.execs if p.poll() is None} | {proc}
