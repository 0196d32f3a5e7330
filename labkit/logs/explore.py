"""The Lab 02 explorer: pick a trace, move the grace window, see what the check reports."""

from __future__ import annotations

from pathlib import Path

from ..ui import explorer as explorer_view
from .replay import replay


def explorer(trace_ids: list[str], log_dir: str | Path):
    """An ipywidgets control: a trace picker and the grace window."""
    import ipywidgets as w

    def show(trace_id: str, grace_ms: int) -> None:
        for key, value in replay(trace_id, log_dir, grace_ms).items():
            print(f"{key:>18}: {value}")

    return explorer_view(show, lambda: dict(
        trace_id=w.Dropdown(options=trace_ids, value=trace_ids[-1], description="trace"),
        grace_ms=w.IntSlider(value=2000, min=0, max=10000, step=250, description="grace ms")))
