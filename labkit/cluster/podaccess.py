"""What the API server's log and exec subresources ask of a running pod: a container's log file,
whether it still writes to it, and the environment an exec runs in."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .container import Container

if TYPE_CHECKING:
    from .server import LocalCluster


class PodAccess:
    """Mixed into PodRuntime: the pod's containers as `kubectl logs` and `kubectl exec` reach them."""

    cluster: LocalCluster
    name: str
    ns: str
    containers: list[Container]
    finished: threading.Event
    execs: set

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
        return dict(c.full_env), c.spec.get("workingDir") or (str(c.root) if c.root else None)

    def track_exec(self, proc: Any) -> None:
        """An exec'd process: killed with the pod (and by its own connection's end)."""
        self.execs = {p for p in self.execs if p.poll() is None} | {proc}
