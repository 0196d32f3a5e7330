"""Where the repository, the labs, the build output and the run directories live."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
LABS = REPO / "labs"


def build_dir() -> Path:
    """The build directory: LABKIT_BUILD_DIR, or build/ in the repository."""
    return Path(os.environ.get("LABKIT_BUILD_DIR") or REPO / "build")


def figures_dir() -> Path:
    """Where notebooks save their figures (created on demand): build/figures under `labkit run`
    (which sets LABKIT_BUILD_DIR), build/interactive/figures in JupyterLab - a notebook run in the
    browser does not overwrite what `make run` produced."""
    path = build_dir() / "figures" if os.environ.get("LABKIT_BUILD_DIR") else REPO / "build" / "interactive" / "figures"
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_root() -> Path:
    """Parent of every per-run directory; world-traversable so unprivileged servers can use it."""
    root = Path(os.environ.get("LABKIT_RUNS_DIR") or Path(tempfile.gettempdir()) / "labkit-runs")
    root.mkdir(parents=True, exist_ok=True)
    try:
        root.chmod(0o1777)
    except PermissionError:
        pass  # someone else's shared root: it is already usable
    return root


def write_private(path: Path, data: str | bytes) -> None:
    """Write a file only its owner can read: 0600 from its creation, not chmod-ed afterwards."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT
