"""Re-judge recorded samples with other thresholds, strikes or policy (the explorer's engine)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .check import Judge, WatchConfig


def replay(samples: list[dict[str, Any]], config: WatchConfig | None = None, **changes: Any) -> dict[str, Any]:
    """Re-judge recorded samples with other thresholds, strikes or policy (acting on nothing)."""
    config = (config or WatchConfig()).with_(**changes)
    judge = Judge(replace(config, act=False))
    for s in samples:
        judge.judge(s)
        if judge.decided:
            break
    first = samples[0]["t"] if samples else 0.0
    decided_at = next((ch.t for ch in judge.checks if ch.action), None)
    return {"decided": judge.decided or "none", "checks": len(judge.checks),
            "breaches": sum(ch.verdict == "breach" for ch in judge.checks),
            "inconclusive": judge.inconclusive_total,
            "seconds_to_decision": round(decided_at - first, 1) if decided_at is not None else None}
