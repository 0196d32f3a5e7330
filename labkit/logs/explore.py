"""The Lab 02 explorer: pick a trace, move the grace window, see what the check reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..ui import explorer as explorer_view
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


def explorer(trace_ids: list[str], log_dir: str | Path):
    """An ipywidgets control: a trace picker and the grace window."""
    import ipywidgets as w

    def show(trace_id: str, grace_ms: int) -> None:
        for key, value in replay(trace_id, log_dir, grace_ms).items():
            print(f"{key:>18}: {value}")

    return explorer_view(show, lambda: dict(
        trace_id=w.Dropdown(options=trace_ids, value=trace_ids[-1], description="trace"),
        grace_ms=w.IntSlider(value=2000, min=0, max=10000, step=250, description="grace ms")))
