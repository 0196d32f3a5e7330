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
    """Where notebooks save their figures (created on demand)."""
    path = build_dir() / "figures"
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
