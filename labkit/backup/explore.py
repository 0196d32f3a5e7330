"""The Lab 06 explorer: replay the recorded nights with another age limit and other expectations."""

from __future__ import annotations

from typing import Any

from ..ui import explorer as explorer_view
from .replay import replay


def explorer(history: list[dict[str, Any]], expectations: list[str] | None = None):
    """An ipywidgets control over replay()."""
    import ipywidgets as w

    def show(max_age_hours: float, use_manifest: bool, use_expectations: bool) -> None:
        result = replay(history, max_age_hours, expectations if use_expectations else None, use_manifest)
        for key in ("flagged", "missed", "false_alarms"):
            print(f"{key:>13}: nights {result[key]}")

    return explorer_view(show, lambda: dict(
        max_age_hours=w.FloatSlider(36, min=12, max=168, step=12, description="max age (h)"),
        use_manifest=w.Checkbox(True, description="use the job's manifest"),
        use_expectations=w.Checkbox(False, description=f"--expect {' '.join(expectations or []) or '(none)'}")))
