"""Teaching clocks and CI clocks.

A lab that waits on a clock (Prometheus' scrapes and rate windows, a watcher's checks) has a
teaching value in its parameters cell - slow enough to watch, and named beside what production
uses - and a CI value that tells the same story faster. `labkit run` and the test suite set
LABKIT_CLOCKS=ci; a learner in JupyterLab gets the teaching values (`labkit run --clocks
teaching` runs them headless too).
"""

from __future__ import annotations

import os

from .errors import InputError

CHOICES = ("teaching", "ci")


def _checked(value: str, what: str) -> str:
    if value not in CHOICES:
        raise InputError(f"{what} must be teaching or ci, not {value!r}")
    return value


def clocks() -> str:
    """The clocks this process runs on: "teaching" (the default) or "ci"."""
    return _checked(os.environ.get("LABKIT_CLOCKS", "") or "teaching", "LABKIT_CLOCKS")


def use(value: str) -> None:
    """Run this process, and the kernels it starts (they inherit the variable), on these clocks."""
    os.environ["LABKIT_CLOCKS"] = _checked(value, "clocks")


def ci_clocks() -> bool:
    """True when the lab should run on its CI clocks."""
    return clocks() == "ci"
