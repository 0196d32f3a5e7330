"""The Lab 05 explorer: replay the recorded samples with other thresholds, strikes and policy."""

from __future__ import annotations

from typing import Any

from ..ui import explorer as explorer_view
from .check import WatchConfig
from .replay import replay


def explorer(samples: list[dict[str, Any]], base: WatchConfig):
    """An ipywidgets control over replay()."""
    import ipywidgets as w

    def show(latency_threshold: float, error_threshold: float, strikes: int, policy: str, latency: bool) -> None:
        signals = ("errors", "latency") if latency else ("errors",)
        result = replay(samples, base, latency_threshold=latency_threshold, error_threshold=error_threshold,
                        strikes=strikes, failure_limit=strikes - 1, policy=policy, signals=signals)
        for key, value in result.items():
            print(f"{key:>20}: {value}")

    return explorer_view(show, lambda: dict(
        latency_threshold=w.FloatSlider(value=base.latency_threshold, min=0.1, max=8, step=0.1,
                                        description="P99 s"),
        error_threshold=w.FloatSlider(value=base.error_threshold, min=0.0, max=0.5, step=0.01,
                                      description="errors"),
        strikes=w.IntSlider(value=base.strikes, min=1, max=10, description="strikes"),
        policy=w.ToggleButtons(options=["consecutive", "total"], description="policy"),
        latency=w.Checkbox(value=True, description="watch P99 (v2)")))
