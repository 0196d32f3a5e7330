"""The Lab 03 explorer: replay the check on a snapshot of the account with other settings."""

from __future__ import annotations

from typing import Any

from ..ui import explorer as explorer_view
from .replay import replay


def explorer(records: dict[str, Any], accepted: list[dict[str, Any]] | None = None):
    """An ipywidgets control over replay()."""
    import ipywidgets as w

    def show(strict: bool, whole_region: bool, honour_exceptions: bool) -> None:
        result = replay(records, strict=strict, whole_region=whole_region,
                        accepted=accepted if honour_exceptions else None)
        for key, value in result.items():
            print(f"{key:>15}: {value}")

    return explorer_view(show, lambda: dict(
        strict=w.Checkbox(False, description="--strict (default groups count)"),
        whole_region=w.Checkbox(False, description="whole region, not the lab VPC"),
        honour_exceptions=w.Checkbox(True, description="honour accepted exceptions")))
