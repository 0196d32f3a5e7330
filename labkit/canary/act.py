"""The watcher's loop: sample Prometheus every interval, let every judge judge the same sample,
and call the rollback (e.g. `kubectl rollout undo`) when an acting judge decides."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .check import Judge, WatchConfig
from .fetch import sample


def watch(prom, configs: list[WatchConfig], *, window: str = "10s", interval: float = 1.0,
          duration: float = 60.0, on_rollback: Callable[[Judge], None] | None = None,
          stop_when_decided: bool = True, extra_apps: tuple[str, ...] = ()) -> tuple[list[Judge], list[dict[str, Any]]]:
    """Sample every interval for duration; every judge judges the same samples.

    The first acting judge that decides to roll back calls on_rollback (e.g. rollout undo)."""
    judges = [Judge(c) for c in configs]
    apps = sorted({c.app for c in configs} | {c.baseline_app for c in configs if c.baseline_app} | set(extra_apps))
    samples = []
    start = next_at = time.monotonic()
    while time.monotonic() - start < duration:
        s = sample(prom, apps, window)
        samples.append(s)
        for j in judges:
            already = j.decided
            check = j.judge(s)
            if not already and check.action == "rollback" and on_rollback is not None:
                on_rollback(j)
        acting = [j for j in judges if j.config.act]
        if stop_when_decided and acting and all(j.decided for j in acting):
            break
        if stop_when_decided and not acting and all(j.decided for j in judges):
            break
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    return judges, samples
