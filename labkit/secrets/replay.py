"""Re-run a pod alert over the monitor's recorded samples (the explorer's engine)."""

from __future__ import annotations

from typing import Any


def replay(records: list[dict[str, Any]], break_at: float, signal: str = "db", consecutive: int = 1) -> dict[str, Any]:
    """Flag a pod after `consecutive` failed samples of `signal` ("db" or "healthz"); a sample the
    monitor could not take (None) neither counts nor resets.

    Returns the pods flagged, the seconds from the break to the first flag, and false
    alarms (flags raised before the break)."""
    runs: dict[str, int] = {}
    flagged: dict[str, float] = {}
    for r in sorted(records, key=lambda r: r["t"]):
        ok = r[signal]
        if ok is None:
            continue
        runs[r["pod"]] = 0 if ok else runs.get(r["pod"], 0) + 1
        if runs[r["pod"]] >= consecutive and r["pod"] not in flagged:
            flagged[r["pod"]] = r["t"]
    after = [t for t in flagged.values() if t >= break_at]
    return {"signal": signal, "consecutive": consecutive, "pods_flagged": len(after),
            "false_alarms": sum(1 for t in flagged.values() if t < break_at),
            "seconds_to_detect": round(min(after) - break_at, 2) if after else None}
