"""A pod as local processes: environment resolved at start, ports mapped, probes, restarts, termination."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import traceback
from typing import TYPE_CHECKING, Any

from ..waiting import free_port
from .container import Container, container_status, set_pod_status
from .objects import NODE, now
from .podaccess import PodAccess
from .podconfig import ConfigError, PodConfig, remove_files
from .probes import arm_probes, probe_container
from .programs import argv_for
from .services import expand
from .store import NotFound

if TYPE_CHECKING:
    from .server import LocalCluster

TICK = 0.05


class PodRuntime(PodAccess):
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
        self.config = PodConfig(cluster.store, self.ns, self.name, self.spec, self.ports, cluster.services.local_port)

    def _event(self, reason: str, message: str, c: Container | None = None, warning: bool = False,
               component: str = "kubelet") -> None:
        self.cluster.events.record(self._ref, "Pod", reason, message, component, warning,
                                   f"spec.containers{{{c.name}}}" if c else "")

    # -- lifecycle -------------------------------------------------------
    def start(self) -> None:
        """Start the pod's supervising thread."""
        self.thread.start()

    def terminate(self) -> None:
        """Begin graceful termination (not Ready at once, then SIGTERM, then SIGKILL)."""
        self._stop.set()

    def _main(self) -> None:
        """The pod's supervising loop. A background thread never prints into a notebook cell: what
        goes wrong here goes to the run's kubelet-errors.log; once the run is stopping (a container
        it cannot restart any more), the pod shuts down quietly."""
        try:
            self._event("Scheduled", f"Successfully assigned {self.ns}/{self.name} to {NODE}",
                        component="default-scheduler")
            self._publish()
            while not self._stop.is_set():
                try:
                    self._tick()
                except Exception as err:
                    if self.cluster.run.stopped:
                        break
                    self._log_error(err)
                self._stop.wait(TICK)
            self._shutdown()
        except Exception as err:
            self._log_error(err)
        finally:
            self.finished.set()

    def _log_error(self, err: BaseException) -> None:
        with contextlib.suppress(OSError), open(self.cluster.run.logs / "kubelet-errors.log", "a") as log:
            log.write(f"{now()} pod {self.ns}/{self.name}: " + "".join(traceback.format_exception(err)))

    def _tick(self) -> None:
        changed = False
        for c in self.containers:
            changed |= self._supervise(c)
            changed |= self._probe(c)
        if changed:
            self._publish()

    # -- containers -------------------------------------------------------
    def _start(self, c: Container) -> None:
        try:
            argv = argv_for(c.spec)
        except LookupError as err:
            raise ConfigError("ErrImagePull", str(err)) from None
        c.env = self.config.env(c.spec)  # read now: a pod sees the Secret as it is at start
        argv = [expand(a, c.env) for a in argv]
        root = self.config.volumes(c.spec, self.cluster.run.dir / "pods" / f"{self.ns}.{self.name}" / c.name)
        workdir = c.spec.get("workingDir")
        log_name = f"{self.ns}.{self.name}.{c.name}.{c.restarts}"
        self._event("Pulled", f'Container image "{c.spec.get("image", "")}" already present on machine', c)
        c.proc = self.cluster.run.start_process(log_name, argv, env=c.env, inherit_env=False,
                                                cwd=workdir or root, stamped=True)
        c.root = root
        c.full_env = self.cluster.run.process_env(c.env, inherit_env=False)
        self._event("Created", f"Created container: {c.name}", c)
        self._event("Started", f"Started container {c.name}", c)
        c.started_at, c.started_mono, c.waiting = now(), time.monotonic(), None
        c.kill_deadline = None
        arm_probes(c)

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
            if c.kill_deadline is not None and time.monotonic() > c.kill_deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(c.proc.pid, signal.SIGKILL)
            return False
        self.cluster.run.stop_process(c.proc)
        c.last_terminated = {"exitCode": 128 - code if code < 0 else int(code),  # a signal, as a shell shows it
                             "reason": "Completed" if code == 0 else "Error",
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
        if c.proc is None or c.kill_deadline is not None:
            return False
        changed, kill = probe_container(c, lambda port: self.host_port(port, c),
                                        lambda why: self._event("Unhealthy", why, c, warning=True))
        if kill:
            was_ready = c.ready
            self._kill(c, kill)  # not Ready from now on: publish that at once, not after the grace period
            return changed or was_ready
        return changed

    def _kill(self, c: Container, why: str) -> None:
        """Stop a container a probe gave up on: SIGTERM now, SIGKILL after the grace period; the
        supervisor then restarts it under the pod's restartPolicy (with back-off)."""
        self._event("Killing", why, c)
        c.ready = False
        c.kill_deadline = time.monotonic() + float(self.spec.get("terminationGracePeriodSeconds", 30))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(c.proc.pid, signal.SIGTERM)

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
        remove_files(self.cluster.run.dir / "pods" / f"{self.ns}.{self.name}")
        with self.cluster.store.lock:
            try:
                if self.cluster.store.get("pods", self.ns, self.name)["metadata"]["uid"] == self.uid:
                    self.cluster.store.delete("pods", self.ns, self.name)
            except NotFound:
                pass

    # -- status -----------------------------------------------------------
    def ready(self) -> bool:
        """Every container is ready and the pod is not stopping."""
        return all(c.ready for c in self.containers) and not self._stop.is_set()

    def _publish(self) -> None:
        """Write the pod's status (and its port map) to the store."""
        statuses = [container_status(c) for c in self.containers]
        running = all(c.proc is not None for c in self.containers)
        ready = self.ready()
        started_time, ports, uid = self.started_time, self.ports, self.uid

        def update(pod: dict) -> None:
            if pod["metadata"]["uid"] == uid:
                set_pod_status(pod, statuses, running, ready, started_time, ports)

        try:
            self.cluster.store.update("pods", self.ns, self.name, update)
        except NotFound:
            pass
