"""The labs' clocks: what a headless run waits for, shorter than what a learner watches.

A notebook's parameters cell holds the teaching default of each clock (slow enough to follow
in JupyterLab) and says what production would use. Headless runs (`labkit run`, CI) use the
values below unless told `--clocks teaching`; the breaks and the findings are the same, only
the waiting is shorter. A parameter given with -p wins over both.
"""

from __future__ import annotations

from typing import Any

from .errors import InputError

HEADLESS: dict[str, dict[str, Any]] = {
    # 0.5 s scrapes and checks; a 6 s window still holds ~30 canary requests (min_requests 20)
    "05_roll-back-a-slow-canary": {"scrape_interval": "500ms", "window": "6s", "interval": 0.5},
}

CHOICES = ("headless", "teaching")


def clocks_for(notebook: str, choice: str) -> dict[str, Any]:
    """The clock parameters to inject into `notebook` (its stem) for a run with `choice` clocks."""
    if choice not in CHOICES:
        raise InputError(f"clocks must be one of {', '.join(CHOICES)}, got {choice!r}")
    return dict(HEADLESS.get(notebook, {})) if choice == "headless" else {}
