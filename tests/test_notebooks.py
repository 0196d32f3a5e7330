"""Notebooks headless with papermill: recorded results, and nothing left running on any path."""

from __future__ import annotations

import time

import nbformat
import papermill
import pytest
from conftest import leftovers

from labkit.paths import NOTEBOOKS
from labkit.results import read_results
from labkit.waiting import port_is_listening

LAB01 = NOTEBOOKS / "01_detect-cost-anomalies.ipynb"
TIMEOUT = 300


def execute(src, out, **params):
    return papermill.execute_notebook(str(src), str(out), parameters=params, cwd=str(NOTEBOOKS),
                                      execution_timeout=TIMEOUT, progress_bar=False)


def test_lab01_failing_midway_still_releases_the_endpoint(tmp_path):
    out = tmp_path / LAB01.name
    with pytest.raises(papermill.PapermillExecutionError, match="min_impact"):
        execute(LAB01, out, min_impact=-1.0)  # fails in the setup cell, after the endpoint started
    port = read_results(out)["endpoint_port"]
    assert port and not port_is_listening(port)


PROCESS_NB = """
import os, signal, sys
from labkit.results import record
from labkit.runtime import current_run
from labkit.waiting import free_port, http_probe
port = free_port()
proc = current_run("nbtest").start_process("web", [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
                                           ready=http_probe(f"http://127.0.0.1:{port}/"))
record("port", port)
record("pid", proc.pid)
"""


@pytest.mark.parametrize("ending", ["raise RuntimeError('a cell failed')",
                                    "os.kill(os.getpid(), signal.SIGKILL)"])
def test_when_a_notebook_fails_or_its_kernel_is_killed_then_its_processes_stop(tmp_path, ending):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(PROCESS_NB), nbformat.v4.new_code_cell(ending)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src, out = tmp_path / "proc.ipynb", tmp_path / "proc.out.ipynb"
    nbformat.write(nb, src)
    with pytest.raises(Exception):  # noqa: B017 - papermill raises its own or a dead-kernel error
        execute(src, out)
    r = read_results(out)
    assert r["port"] and r["pid"]
    # the watchdog needs its grace period after a kill; the autouse guard checks the records too
    deadline = time.monotonic() + 15
    while (leftovers() or port_is_listening(r["port"])) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not port_is_listening(r["port"])


def test_every_parameter_of_every_notebook_is_visible_to_papermill():
    """A parameter papermill cannot parse is silently not injectable (labkit run -p would drop it)."""
    import ast

    from labkit.runner import all_notebooks, declared_parameters

    for nb_path in all_notebooks():
        nb = nbformat.read(nb_path, as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        assigned = {t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)
                    for t in node.targets if isinstance(t, ast.Name)}
        assert declared_parameters(nb_path) == assigned, nb_path.name


LAB03 = NOTEBOOKS / "03_detect-infrastructure-drift.ipynb"


def test_lab03_headless_records_the_lesson(tmp_path, assert_port_free):
    out = tmp_path / LAB03.name
    execute(LAB03, out, solve_exercise=True, use_terraform="no")
    r = read_results(out)
    assert r["baseline_clean"] is True and r["baseline_unmanaged"] == 0
    assert r["ssh_drift_status"] == "drift"
    assert r["ssh_added"] == [{"direction": "ingress", "protocol": "tcp", "from_port": 22, "to_port": 22,
                               "source": "0.0.0.0/0"}]
    assert r["after_revoke_clean"] is True
    assert r["plan_ssh_exit"] is None and r["plan_new_group_exit"] is None  # use_terraform="no": no plan
    assert r["state_only_clean_after_new_group"] is True and r["state_only_mentions_new_group"] is False
    assert r["unmanaged_found"] == ["debug-temp"] and r["coverage"] == {"managed": 1, "total": 2}
    assert r["replay_default"]["coverage"] == "1/2"
    assert len(r["replay_strict_region"]["unmanaged"]) > len(r["replay_default"]["unmanaged"])
    assert r["replay_accepted"]["accepted_rules"] == 1 and r["replay_accepted"]["drifted_groups"] == 0
    assert r["replay_default"]["drifted_groups"] == 1
    assert r["exercise_passed"] is True
    assert_port_free(r["endpoint_port"])


def test_markdown_dollar_amounts_render_as_text_not_maths():
    """JupyterLab renders $...$ as LaTeX: "$18.50 instead of about $1.20" became italic maths."""
    import re

    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        for cell in nbformat.read(str(path), as_version=4).cells:
            if cell.cell_type == "markdown":
                prose = re.sub(r"`[^`]*`", "", cell.source)  # code spans show a $ as it is
                assert not re.search(r"(?<!\\)\$", prose), (path.name, cell.get("id"), prose[:80])


def test_committed_notebooks_hold_no_outputs_and_the_git_filter_strips_them(tmp_path):
    import json
    import subprocess
    import sys

    from labkit.nbstrip import strip

    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        shown = subprocess.run(["git", "show", f"HEAD:notebooks/{path.name}"], capture_output=True, text=True,
                               cwd=NOTEBOOKS)  # what git holds, whatever the working copy has
        nb = json.loads(shown.stdout) if shown.returncode == 0 else json.loads(path.read_text())
        for cell in nb["cells"]:
            assert not cell.get("outputs") and cell.get("execution_count") is None, (path.name, cell.get("id"))
    executed = nbformat.v4.new_notebook()
    executed.cells = [nbformat.v4.new_code_cell("print(1)", execution_count=3, outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="1\n")])]
    executed.cells[0].metadata["papermill"] = {"status": "completed"}
    text = nbformat.writes(executed)
    done = subprocess.run([sys.executable, "-m", "labkit.nbstrip"], input=text, capture_output=True, text=True,
                          timeout=30)
    stripped = json.loads(done.stdout)
    assert stripped["cells"][0]["outputs"] == [] and stripped["cells"][0]["execution_count"] is None
    assert "papermill" not in stripped["cells"][0]["metadata"] and "".join(stripped["cells"][0]["source"]) == "print(1)"
    assert strip(json.loads(done.stdout)) == stripped  # idempotent
