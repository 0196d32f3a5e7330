"""Re-run the correlation on recorded logs with other grace windows (the explorer's engine)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .correlate import correlate


def replay(trace_id: str, log_dir: str | Path, grace_ms: int = 2000) -> dict[str, Any]:
    """Re-run the check on the recorded logs with another grace window; a small summary."""
    result = correlate(trace_id, log_dir, grace_ms)
    return {
        "events": len(result.events),
        "missing_services": result.missing_services,
        "unpaired_attempts": [u.attempt for u in result.unpaired_attempts],
        "suspects": len(result.suspects),
        "errors": [e.event for e in result.errors],
        "clean": not result.has_findings,
    }


def window_tradeoff(trace_id: str, recipient: str, log_dir: str | Path,
                    graces_ms: tuple[int, ...] = (0, 1000, 2000, 5000)) -> list[dict[str, Any]]:
    """Per grace window: how many suspects the check reports, and whether one of them is the
    retry failure for this payment's recipient - the late line the window exists to catch."""
    rows = []
    for grace in graces_ms:
        suspects = correlate(trace_id, log_dir, grace).suspects
        caught = any("retry" in s.text and recipient in s.text for s in suspects)
        rows.append({"grace_ms": grace, "suspects": len(suspects), "retry_failure_caught": caught})
    return rows
