"""Notebooks headless with papermill: recorded results, and nothing left running on any path."""

from __future__ import annotations

import time

import nbformat
import papermill
import pytest
from conftest import cluster_serve, file_contents, leftovers, stop_serve

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


LAB04 = NOTEBOOKS / "04_verify-secret-rotation.ipynb"


def assert_lab04(r: dict, out, run_dirs: list, solved: bool = True) -> None:
    from labkit.secrets.creds import find_leaks

    assert r["baseline_verified"] is True
    assert (r["broken_healthz_ok"], r["broken_healthz_db_ok"]) == (True, False)
    assert r["broken_pods_ready"] == 2 and r["broken_verify_failing"] == 2
    assert r["broken_load"]["ok"] > 0 and r["broken_load"]["failed"] > 0  # the pool's mix
    assert r["rotation_verified"] is True and r["naive_rotation_caught"] is True
    assert r["pods_hold_stale_password"] is True and r["after_naive_repaired"] is True
    # alternating users: PostgreSQL refused no login (its own log says so) - the old one kept working.
    # On a loaded machine a request may still time out, find no Ready endpoint during the restart, or
    # get the app's 503 when its pool has no connection within 1 s: that is the load, not the rotation
    assert r["refused_logins_alternating"] == 0, r["failed_by_alternating"]
    assert set(r["failed_by_alternating"]) <= {"timeout", "routing", "5xx"}, r["failed_by_alternating"]
    assert r["replay_healthz_1"]["pods_flagged"] == 0 and r["replay_db_1"]["pods_flagged"] > 0
    if solved:  # a startup probe on the database: no outage from a blip, no bad credential Ready
        assert r["exercise_situations"] == {"database outage": True, "bad Secret rollout": True}
        assert r["exercise_passed"] is True
    else:  # the notebook's starting patch, readiness on the database: the blip empties the Service
        assert r["exercise_situations"] == {"database outage": False, "bad Secret rollout": True}
        assert (r["exercise_passed"], r["exercise_status"]) == (False, "not yet")
    digests = r["audit_digests"]
    assert len(digests) >= 8
    assert find_leaks(out.read_bytes(), digests) == []
    for run_dir in run_dirs:  # the notebook's run, and the cluster's (pod logs, the database's log)
        for path, data in file_contents(run_dir):
            assert find_leaks(data, digests) == [], path


LAB05 = NOTEBOOKS / "05_roll-back-a-slow-canary.ipynb"


def assert_lab05(r: dict, solved: bool = True) -> None:
    assert r["baseline_verdicts"] == ["healthy"] and r["naive_numerator_empty"] is True
    assert (r["v1_rolled_back"], r["v2_rolled_back"]) == (False, True)
    assert 0 < r["seconds_break_to_rollback"] < 30
    assert r["revisions_after_rollback"] == [2, 3] and r["replicasets_kept"] == 2
    assert r["replay_default"]["decided"] == "rollback" and r["replay_threshold_7s"]["decided"] == "none"
    assert r["hung_v2_decided"] == "stopped" and r["inconclusive_checks"] > 0
    assert r["hung_v3_rolled_back"] is True and r["hung_client_timeouts"] > 0
    assert (r["progressive_slow"], r["progressive_hung"]) == ("rollback", "rollback")  # no data = failed
    # unsolved: the notebook's starting watcher is v3's, which rolls back a shared slowdown too
    assert (r["exercise_passed"], r["exercise_status"]) == ((True, "solved") if solved else (False, "not yet"))


def papermill_process(src, out, params: dict, clocks: str = "ci"):
    """papermill in its own process, as a second learner's kernel would run beside the first."""
    import json
    import os
    import subprocess
    import sys

    argv = [sys.executable, "-m", "papermill", str(src), str(out), "--cwd", str(NOTEBOOKS), "--no-progress-bar",
            "--execution-timeout", str(TIMEOUT), "-y", json.dumps(params)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=os.environ | {"LABKIT_CLOCKS": clocks})


def test_two_learners_run_labs_04_and_05_at_once_on_one_machine(tmp_path, assert_port_free):
    """Labs 04 and 05 twice each, all four at the same time, as two learners on one workshop machine:
    one of each as a learner opens it (every parameter at its default: the local cluster, the
    exercise not yet solved, Lab 05 on its teaching clocks), one of each on the kubeconfig path (a `labkit cluster serve` of its
    own) with the exercise solved. Every run records its lesson; no two runs share a port, a run
    directory or a database; each lab removes what it applied; nothing is left."""
    import os
    from pathlib import Path

    from kubernetes import client, config

    runs_dir = Path(os.environ["LABKIT_RUNS_DIR"])
    before = set(runs_dir.glob("lab0[45]-*"))
    with cluster_serve(tmp_path / "k4") as (serve4, kc4), cluster_serve(tmp_path / "k5") as (serve5, kc5):
        plan = {"04 learner": (LAB04, {}),
                "04 kubeconfig solved": (LAB04, {"solve_exercise": True, "cluster_backend": "kubeconfig",
                                                 "kubeconfig": str(kc4)}),
                "05 learner": (LAB05, {}),
                "05 kubeconfig solved": (LAB05, {"solve_exercise": True, "cluster_backend": "kubeconfig",
                                                 "kubeconfig": str(kc5)})}
        outs = {name: tmp_path / f"{name.replace(' ', '-')}.ipynb" for name in plan}
        # the learner's Lab 05 on the teaching clocks, as JupyterLab runs it; the others on the CI clocks
        procs = {name: papermill_process(src, outs[name], params, "teaching" if name == "05 learner" else "ci")
                 for name, (src, params) in plan.items()}
        deadline = time.monotonic() + 900
        failed = {}
        try:
            for name, proc in procs.items():
                output, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
                if proc.returncode != 0:
                    failed[name] = output[-3000:]
        finally:
            for proc in procs.values():
                if proc.poll() is None:  # a hang: end it, the assertion below names the run
                    proc.kill()
                    failed.setdefault(next(n for n, p in procs.items() if p is proc), "still running at the deadline")
                    proc.wait()
        assert not failed, failed
        for kubeconfig, serve in ((kc4, serve4), (kc5, serve5)):
            api = config.new_client_from_config(config_file=str(kubeconfig))
            assert client.AppsV1Api(api).list_namespaced_deployment("default").items == []
            assert stop_serve(serve) == 0
    results = {name: read_results(out) for name, out in outs.items()}
    new_runs = set(runs_dir.glob("lab0[45]-*")) - before
    assert len([d for d in new_runs if d.name.startswith("lab04-")]) == 2
    assert len([d for d in new_runs if d.name.startswith("lab05-")]) == 2
    lab04_dirs = [*(d for d in new_runs if d.name.startswith("lab04-")), *(tmp_path / "k4").glob("cluster-*")]
    assert_lab04(results["04 learner"], outs["04 learner"], lab04_dirs, solved=False)
    assert_lab04(results["04 kubeconfig solved"], outs["04 kubeconfig solved"], lab04_dirs, solved=True)
    assert_lab05(results["05 learner"], solved=False)
    assert_lab05(results["05 kubeconfig solved"], solved=True)
    assert results["05 learner"]["clocks"] == {"scrape_interval": "1s", "window": "10s", "interval": 1.0}
    assert results["05 kubeconfig solved"]["clocks"] == {"scrape_interval": "500ms", "window": "8s", "interval": 1.0}
    ports = {name: set(r["ports"]) for name, r in results.items()}
    names = list(ports)
    for i, a in enumerate(names):  # every run had its own ports: API servers, pods, databases, Prometheus
        for b in names[i + 1:]:
            assert not ports[a] & ports[b], (a, b, ports[a] & ports[b])
    for port in set().union(*ports.values()):
        assert_port_free(port)


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
