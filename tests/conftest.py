"""Shared fixtures: private run and build directories, and the no-leftovers guard."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import pytest

# Set before labkit is imported anywhere, so kernels started by papermill inherit them.
_ROOT = Path(tempfile.mkdtemp(prefix="labkit-tests-"))
os.chmod(_ROOT, 0o755)
os.environ["LABKIT_RUNS_DIR"] = str(_ROOT / "runs")
os.environ.setdefault("LABKIT_BUILD_DIR", str(_ROOT / "build"))

from labkit.runtime import iter_runs, leftover_processes, port_is_listening  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
LABKIT = [sys.executable, "-m", "labkit.cli"]


def leftovers() -> list[str]:
    """Processes recorded by any run under the test root that are still alive."""
    found = []
    for run_dir, _meta in iter_runs(Path(os.environ["LABKIT_RUNS_DIR"])):
        found += [f"{r['name']} pid {r['pid']} ({run_dir.name})" for r in leftover_processes(run_dir)]
    return found


@pytest.fixture(autouse=True)
def nothing_left_behind():
    """Every test must stop every process it (or a notebook it ran) started."""
    yield
    deadline = time.monotonic() + 10  # a killed owner's watchdog needs its grace period
    while leftovers() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert leftovers() == []


@pytest.fixture
def assert_port_free():
    def check(port: int) -> None:
        assert port and not port_is_listening(port), f"port {port} is still listening"

    return check
