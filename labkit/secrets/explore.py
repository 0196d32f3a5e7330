"""The Lab 04 explorer: replay the monitor's samples under another alerting policy."""

from __future__ import annotations

from typing import Any

from ..ui import explorer as explorer_view
from .replay import replay


def explorer(records: list[dict[str, Any]], break_at: float):
    """An ipywidgets control over replay()."""
    import ipywidgets as w

    def show(signal: str, consecutive: int) -> None:
        for key, value in replay(records, break_at, signal, consecutive).items():
            print(f"{key:>18}: {value}")

    return explorer_view(show, lambda: dict(
        signal=w.ToggleButtons(options=["db", "healthz"], description="signal"),
        consecutive=w.IntSlider(value=1, min=1, max=10, description="failures")))
