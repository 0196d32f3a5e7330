"""Shared fixtures: private run and build directories, and the no-leftovers guard."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

# Set before labkit is imported anywhere, so kernels started by papermill inherit them.
_ROOT = Path(tempfile.mkdtemp(prefix="labkit-tests-"))
os.chmod(_ROOT, 0o755)
os.environ["LABKIT_RUNS_DIR"] = str(_ROOT / "runs")
os.environ["LABKIT_HEADLESS"] = "1"  # kernels started by the tests make no widgets (labkit.ui)
os.environ["LABKIT_KEEP_RUNS"] = "1"  # the tests look into finished runs (leak scans, leftover processes)
os.environ.setdefault("LABKIT_BUILD_DIR", str(_ROOT / "build"))
# the labs wait on their CI clocks (labkit.clocks): the same lessons, faster; the browser test's
# JupyterLab runs its kernels on the teaching clocks, as a learner's
os.environ.setdefault("LABKIT_CLOCKS", "ci")

from labkit.cleanup import iter_runs, leftover_processes, owner_alive  # noqa: E402
from labkit.waiting import port_is_listening  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
LABKIT = [sys.executable, "-m", "labkit.cli"]


# The modules that take longest, longest first (measured in `make test`). `make test` hands whole
# modules to its workers in collection order (--dist loadscope --no-loadscope-reorder): a worker
# starts on each of these at once while the others share the short ones. Ordered by test count
# instead, the browser module started last and ended the suite 116 s after the other workers.
LONGEST_FIRST = ("test_browser.py", "test_secrets.py", "test_kubectl.py", "test_cluster.py", "test_canary_lab.py",
                 "test_runtime.py", "test_backup.py", "test_notebooks.py", "test_manifests.py", "test_cost_exports.py",
                 "test_logs_lab.py", "test_drift_check.py", "test_drift_lab.py", "test_postgres.py", "test_fuzz.py")


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: a module's own order stays


def leftovers(include_active: bool = False) -> list[str]:
    """Processes still alive that were recorded by a run under the test root which has stopped
    (or whose owner is gone); with include_active, by any run at all."""
    found = []
    for run_dir, meta in iter_runs(Path(os.environ["LABKIT_RUNS_DIR"])):
        if not include_active and not meta.get("stopped") and owner_alive(meta):
            continue  # a module-scoped lab still in use
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


@pytest.fixture(scope="session", autouse=True)
def nothing_left_at_the_end():
    """After the whole session, no run at all may have a live process."""
    yield
    deadline = time.monotonic() + 10
    while leftovers(include_active=True) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert leftovers(include_active=True) == []


@pytest.fixture
def assert_port_free():
    def check(port: int) -> None:
        assert port and not port_is_listening(port), f"port {port} is still listening"

    return check


@contextlib.contextmanager
def cluster_serve(root: Path):
    """`labkit cluster serve --dir root` in the foreground, as a learner starts it: (process, kubeconfig).

    stop_serve(process) ends it as Ctrl-C would; on the way out it is killed whatever happened.
    """
    proc = subprocess.Popen([*LABKIT, "cluster", "serve", "--dir", str(root)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(2)]  # "API: ...", "kubeconfig: ..."
        assert lines[1].startswith("kubeconfig:"), lines + [proc.stderr.read() if proc.poll() is not None else ""]
        yield proc, Path(lines[1].split(":", 1)[1].strip())
    finally:
        proc.kill()
        proc.wait()


def stop_serve(proc: subprocess.Popen) -> int:
    """SIGTERM, as the terminal's Ctrl-C would; the exit code."""
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=30)


def file_contents(root: Path):
    """(path, bytes) of every file under root; files and directories removed meanwhile (a pod's
    directory goes with the pod) are skipped, not errors."""
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            try:
                yield path, path.read_bytes()
            except (FileNotFoundError, NotADirectoryError):
                continue
