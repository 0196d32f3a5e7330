"""One local container's runtime state, and its status as the API reports it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..processes import ManagedProcess
from .objects import NODE, now

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


def set_pod_status(pod: dict, statuses: list[dict[str, Any]], running: bool, ready: bool, started_time: str,
                   ports: dict[int, int]) -> None:
    """Write a pod's status as the kubelet reports it - phase, conditions (a condition keeps its
    transition time while its status stays), container statuses - and its local port map."""
    stamp = now()
    pod["spec"].setdefault("nodeName", NODE)
    pod["metadata"]["annotations"]["labkit.dev/ports"] = json.dumps({str(k): v for k, v in ports.items()})
    old = {c["type"]: c for c in (pod.get("status") or {}).get("conditions", [])}
    conditions = []
    for kind, ok in (("Initialized", True), ("Ready", ready), ("ContainersReady", ready), ("PodScheduled", True)):
        new = {"type": kind, "status": "True" if ok else "False", "lastTransitionTime": stamp}
        if kind in old and old[kind]["status"] == new["status"]:
            new["lastTransitionTime"] = old[kind].get("lastTransitionTime", stamp)
        conditions.append(new)
    pod["status"] = {
        "phase": "Running" if running or pod["status"].get("phase") == "Running" else "Pending",
        "conditions": conditions, "hostIP": "127.0.0.1", "podIP": "127.0.0.1",
        "podIPs": [{"ip": "127.0.0.1"}], "startTime": started_time, "qosClass": "BestEffort",
        "containerStatuses": statuses,
    }
