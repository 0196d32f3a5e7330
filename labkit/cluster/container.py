"""One local container's runtime state, and its status as the API reports it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..processes import ManagedProcess

PROBES = ("startup", "readiness", "liveness")


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
    started: bool = False  # the startup probe has passed (or there is none)
    probes: dict[str, dict[str, float]] = field(default_factory=dict)  # kind -> next, successes, failures
    kill_deadline: float | None = None  # killed by a probe: SIGKILL after the grace period
    env: dict[str, str] = field(default_factory=dict)
    full_env: dict[str, str] = field(default_factory=dict)
    root: Path | None = None

    @property
    def name(self) -> str:
        """The container's name in the pod spec."""
        return self.spec["name"]


def container_status(c: Container) -> dict[str, Any]:
    """The container's status as the API reports it: its state, readiness, restarts, last state."""
    if c.proc is not None:
        state: dict[str, Any] = {"running": {"startedAt": c.started_at}}
    elif c.waiting and c.waiting[0] == "Terminated" and c.last_terminated:
        state = {"terminated": c.last_terminated}
    else:
        reason, message = c.waiting or ("ContainerCreating", "")
        state = {"waiting": {"reason": reason, "message": message}}
    status = {"name": c.name, "image": c.spec.get("image", ""), "imageID": "", "ready": c.ready,
              "restartCount": c.restarts, "started": c.proc is not None and c.started, "state": state,
              "containerID": f"local://{c.proc.pid}" if c.proc else None}
    status["lastState"] = {"terminated": c.last_terminated} if c.last_terminated else {}
    return status
