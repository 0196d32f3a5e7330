"""The Lab 01 explorer: sliders over replay() on the recorded bill."""

from __future__ import annotations

from typing import Any

from ..ui import explorer as explorer_view
from .replay import replay


def describe(result: Any) -> str:
    """One readable line per replay result."""
    delays = ", ".join(
        f"{name}: {'missed' if d is None else f'day {d}'}" for name, d in result.days_to_detect.items()
    )
    return (f"{result.findings} findings: {result.true_positives} on injected events, "
            f"{result.false_positives} false positives | time to detect - {delays}")


def explorer(records: list[dict], truth: list[dict]):
    """An ipywidgets control: move thresholds, see false positives vs time to detect."""
    import ipywidgets as w

    def show(multiplier: float, baseline_days: int, shift_ratio: float, min_impact: float) -> None:
        result = replay(records, truth, multiplier=multiplier, baseline_days=baseline_days,
                        shift_ratio=shift_ratio, min_impact=min_impact)
        print(describe(result))

    return explorer_view(show, lambda: dict(
        multiplier=w.FloatSlider(value=2.0, min=0.5, max=4.0, step=0.25, description="K (stdev)"),
        baseline_days=w.IntSlider(value=7, min=3, max=14, description="baseline days"),
        shift_ratio=w.FloatSlider(value=1.5, min=1.1, max=3.0, step=0.1, description="shift ratio"),
        min_impact=w.FloatSlider(value=0.5, min=0.0, max=5.0, step=0.25, description="floor $")))
