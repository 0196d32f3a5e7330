"""`labkit doctor`: what is installed, what each lab still needs, and how to install it."""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass

from .errors import LabkitError


@dataclass(frozen=True)
class Need:
    """One thing a lab needs, how to find it, and how to install it."""

    what: str
    labs: str
    kind: str  # "python", "binary" or "kubectl"
    probe: str
    install: str
    optional: bool = False


PIP = f"{sys.executable} -m pip install -e '.[dev]'"
NEEDS = [
    Need("boto3 + moto server", "01 03 04 06", "python", "moto.server", PIP),
    Need("pandas", "all", "python", "pandas", PIP),
    Need("matplotlib", "all", "python", "matplotlib", PIP),
    Need("papermill", "all (make run/test)", "python", "papermill", PIP),
    Need("ipywidgets", "all (explore)", "python", "ipywidgets", PIP),
    Need("kubernetes client", "04 05", "python", "kubernetes", PIP),
    Need("psycopg", "04 06", "python", "psycopg", PIP),
    Need("PostgreSQL server (postgres, initdb)", "04 06", "binary", "postgres",
         "apt-get install -y --no-install-recommends postgresql  (or conda: postgresql)"),
    Need("PostgreSQL clients (pg_dump, pg_restore, psql)", "06", "binary", "pg_restore",
         "apt-get install -y --no-install-recommends postgresql-client  (or conda: postgresql)"),
    Need("aws CLI (the backup job's uploads)", "06", "binary", "aws", PIP),
    Need("Prometheus server", "05", "binary", "prometheus",
         "apt-get install -y --no-install-recommends prometheus  (or conda: prometheus)"),
    Need("kubectl (1.31 or newer)", "04 05", "kubectl", "kubectl", PIP),
    Need("terraform (optional: labkit writes the state itself without it)", "03", "binary", "terraform",
         "see the HashiCorp install docs; the lab works without it", optional=True),
]


def find_binary(name: str) -> str | None:
    """A binary on PATH, beside this Python (the venv's aws), or in PostgreSQL's usual Debian location."""
    found = shutil.which(name, path=os.path.dirname(sys.executable)) or shutil.which(name)
    if found:
        return found
    for candidate in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _present(need: Need) -> str | None:
    if need.kind == "kubectl":
        from .kube.kubectl import find_kubectl

        found = find_kubectl()
        return f"{found.path} ({found.version})" if found else None
    if need.kind == "python":
        try:
            return "importable" if importlib.util.find_spec(need.probe) else None
        except ModuleNotFoundError:
            return None
    return find_binary(need.probe)


def doctor(backend: str = "local", profile: str | None = None, region: str = "us-east-1") -> int:
    """Print the checklist; 0 = all present, 2 = something a lab needs is missing, 1 = AWS check failed."""
    missing = 0
    for need in NEEDS:
        where = _present(need)
        if where:
            print(f"ok       {need.what:<45} labs {need.labs:<20} {where}")
        else:
            missing += not need.optional
            tag = "optional" if need.optional else "MISSING"
            print(f"{tag:<8} {need.what:<45} labs {need.labs:<20} install: {need.install}")
    if backend == "aws":
        from .aws import AwsTarget, caller_identity

        try:
            ident = caller_identity(AwsTarget("aws", None, region, profile))
        except LabkitError as err:
            print(f"FAILED   real AWS credentials: {err}")
            return 1
        print(f"ok       real AWS credentials: account {ident['account']} as {ident['arn']}")
    return 2 if missing else 0
