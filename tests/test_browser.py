"""The learner's path in JupyterLab, in a real browser: Debian's Chromium driven by Playwright.

Each notebook is opened in a tab of a real `jupyter lab` kept open in one page (File > Open from
Path), run as a learner first runs it (Run > Run All Cells), saved, and read back: no error and
no traceback in any cell, every figure inline, every explorer a working widget (its output
changes when a control moves), and the lesson recorded.
The kernels run on the teaching clocks, as a learner's do. In Labs 01, 02 and 06 the learner
then solves the exercise in the same kernel - edits the exercise cell, re-runs it and its check -
and the solved lesson is read back. Meanwhile a second learner on the same machine runs Labs 04
and 05 headless on a kubeconfig each with the exercise solved (the two-learners test). These are
the labs' solved runs; Lab 03's runs headless without Terraform (tests/test_notebooks.py). One
test restarts the kernel in the middle of Lab 04 and finds nothing left running. Screenshots
land in build/browser/ for a person to look at.

Skip locally with `pytest -m "not browser"` (CI runs them).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, cluster_serve, file_contents, leftovers, stop_serve

from labkit.paths import NOTEBOOKS
from labkit.results import read_results
from labkit.waiting import free_port, port_is_listening

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
SHOTS = REPO / "build" / "browser"
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")]


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    """`jupyter lab` on a copy of notebooks/, on a free 127.0.0.1 port with its own token, as root too.
    The kernels it starts are not headless: they make widgets, as in a learner's browser, and they
    run on the teaching clocks, as a learner's do (LABKIT_CLOCKS, labkit.clocks)."""
    root, home = tmp_path_factory.mktemp("lab"), tmp_path_factory.mktemp("home")
    for nb in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"):
        shutil.copy(nb, root / nb.name)
    port, token = free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k != "LABKIT_HEADLESS"} | {"LABKIT_CLOCKS": "teaching"}
    settings = home / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))  # no news toast
    # the tests save with Ctrl+S; an autosave (every 120 s) racing it on a loaded machine left a
    # "File Changed" dialog over the menus (seen in CI)
    docmanager = home / "lab-settings" / "@jupyterlab" / "docmanager-extension"
    docmanager.mkdir(parents=True)
    (docmanager / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": False}))
    env |= {"HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / "jupyter"), "JUPYTER_RUNTIME_DIR": str(home / "rt"),
            "JUPYTERLAB_SETTINGS_DIR": str(home / "lab-settings")}
    argv = [str(Path(sys.executable).parent / "jupyter-lab"), "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            "--port-retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=", "--allow-root"]
    log = open(home / "jupyter.log", "w")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2).read()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, (home / "jupyter.log").read_text()[-2000:]
            time.sleep(0.3)
    yield url, token, root
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield chromium
        chromium.close()


def open_lab(browser, lab_server):
    """JupyterLab in one browser page, as a learner keeps it open, on a workspace of its own, reset
    (never another test's layout)."""
    url, token, _root = lab_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    page.goto(f"{url}/lab/workspaces/learner-{secrets.token_hex(3)}?reset&token={token}")
    page.locator(".lm-MenuBar-itemLabel", has_text="File").first.wait_for()
    return page


@dataclass
class Tab:
    """A notebook open in a tab of the learner's JupyterLab page."""

    page: Any
    name: str
    panel_id: str

    @property
    def panel(self):
        """The notebook's panel (its toolbar, its cells)."""
        return self.page.locator(f'.jp-NotebookPanel[id="{self.panel_id}"]')

    def running(self) -> int:
        """How many of its cells are queued or running ([*])."""
        return self.panel.locator(".jp-InputPrompt", has_text="[*]").count()

    def show(self) -> Tab:
        """Click its tab, as a learner switches notebooks: the menus and keys then act on this one."""
        from playwright.sync_api import expect

        self.page.locator(f'.lm-DockPanel-tabBar .lm-TabBar-tab[data-id="{self.panel_id}"]').click()
        expect(self.panel).to_be_visible()
        return self


def open_notebook(page, lab_server, name: str) -> Tab:
    """File > Open from Path in the open JupyterLab: a new tab, the current one, its kernel idle."""
    from playwright.sync_api import expect

    menu(page, "File", "Open from Path")
    page.keyboard.insert_text(name)
    page.keyboard.press("Enter")
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=name)
    tab.wait_for()
    notebook = Tab(page, name, tab.get_attribute("data-id"))
    # JupyterLab renders a notebook's cells a few at a time: until the last is there, "the last
    # cell" is another one (a busy machine once ran Run All Above Selected Cell on half of Lab 01)
    expect(cells(notebook)).to_have_count(len(saved(lab_server, name)["cells"]), timeout=60_000)
    idle(notebook, 60)
    return notebook


def cells(notebook: Tab):
    """The notebook's cells, in order."""
    return notebook.panel.locator(".jp-Cell")


def save(notebook: Tab) -> None:
    """File > Save as a learner does it (Ctrl+S in its tab), and a moment for the file to be written."""
    notebook.show()
    notebook.page.keyboard.press("Control+s")
    notebook.page.wait_for_timeout(1500)


def idle(notebook: Tab, seconds: float) -> None:
    """Until its kernel is idle with no cell queued or running, looking at its tab as a learner does;
    a deadline names what was still busy."""
    notebook.show()
    deadline = time.monotonic() + seconds
    quiet_since = None
    while True:
        busy = notebook.running()
        status = notebook.panel.locator(".jp-Notebook-ExecutionIndicator").first.get_attribute("data-status") or ""
        if busy == 0 and status in ("idle", ""):
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 1.5:
                return
        else:
            quiet_since = None
        assert time.monotonic() < deadline, (f"{notebook.name} still busy after {seconds:.0f} s: "
                                             f"{busy} cells running, kernel {status}")
        time.sleep(0.5)


def menu(page, top: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=top).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


def saved(lab_server, name: str) -> dict:
    return json.loads((lab_server[2] / name).read_text())


def problems(nb: dict) -> list[str]:
    """Errors and tracebacks anywhere in the saved notebook's outputs."""
    found = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            text = "".join(out.get("text", [])) if isinstance(out.get("text"), list) else str(out.get("text", ""))
            if out.get("output_type") == "error" or "Traceback" in text:
                found.append(f"{cell.get('id')}: {out.get('ename') or text[:200]}")
    return found


# first in the module: xdist hands this worker its next module once two of the module's tests are
# left, and those are then quick checks, not this 15-40 s run
def test_a_kernel_restart_in_the_middle_of_lab_04_leaves_nothing_running(browser, lab_server):
    from labkit.cleanup import leftover_processes

    name = "04_verify-secret-rotation.ipynb"
    runs_dir = Path(os.environ["LABKIT_RUNS_DIR"])
    before = set(runs_dir.glob("lab04-*"))
    page = open_lab(browser, lab_server)
    notebook = open_notebook(page, lab_server, name)
    try:
        menu(page, "Run", "Run All Cells")
        deadline = time.monotonic() + 120  # until the cluster, PostgreSQL and the app's pods are up
        while not any(".app." in r["name"] for run_dir in set(runs_dir.glob("lab04-*")) - before
                      for r in leftover_processes(run_dir)):
            assert time.monotonic() < deadline, "Lab 04's app never started"
            time.sleep(0.5)
        assert notebook.running() > 0, "the run finished before the restart"
        menu(page, "Kernel", "Restart Kernel")
        page.locator(".jp-Dialog-button.jp-mod-accept").click()
        idle(notebook, 60)
        deadline = time.monotonic() + 30
        while leftovers(include_active=True) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert leftovers(include_active=True) == []
    finally:
        menu(page, "Kernel", "Shut Down Kernel")
        page.close()


def lab03(r: dict) -> bool:
    """Lab 03 as a learner meets it: real terraform plan where Terraform runs here (it does in CI)."""
    plans = (r["plan_ssh_exit"], r["plan_new_group_exit"], r["plan_after_codify_exit"])
    return (r["exercise_status"] == "not yet" and r["unmanaged_found"] == ["debug-temp"]
            and (plans == (2, 0, 0) if "real Terraform" in r["applied_with"] else plans == (None, None, None)))


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


def papermill_process(src: Path, out: Path, params: dict) -> subprocess.Popen:
    """papermill in its own process on the CI clocks, as a second learner's headless run beside the
    browser's kernels; its output goes to out.log (a pipe nobody reads while the browser runs fills up)."""
    argv = [sys.executable, "-m", "papermill", str(src), str(out), "--cwd", str(NOTEBOOKS), "--no-progress-bar",
            "--execution-timeout", "300", "-y", json.dumps(params)]
    with open(out.with_suffix(".log"), "w") as log:
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=os.environ | {"LABKIT_CLOCKS": "ci"})


def solved01(r: dict) -> None:
    assert r["baseline_anomalies"] == 0 and r["budget_alert_fired"] is False
    assert r["spike_count"] == 1
    spike = r["spike"]
    assert spike["service"] == "Amazon Elastic Compute Cloud - Compute" and spike["estimated"] is True
    assert r["requests_per_check"] == 3  # 30 days in pages of 10: the token loop ran
    # the step: original rule at its start only; level-shift rule through yesterday, the spike's day
    assert r["step_original_dates"][0] == r["step_start"] and len(r["step_original_dates"]) <= 2
    assert r["step_level_shift_dates"][-1] == spike["date"] and len(r["step_level_shift_dates"]) >= 5
    assert r["ranked_by_impact"][0][0] == "spike"
    assert r["replay_strict"]["false_positives"] == 0
    assert r["replay_loose"]["false_positives"] > r["replay_strict"]["false_positives"]
    assert r["exercise_passed"] is True and r["ack_exercise_passed"] is True


def solved02(r: dict) -> None:
    assert r["healthy_clean"] is True and r["healthy_by_w3c_clean"] is True
    assert (r["healthy_cli_exit"], r["broken_cli_exit"]) == (0, 2)
    assert len(r["healthy_events"]) == 7
    assert r["broken_reported_status"] == ["complete", "queued"]
    assert r["broken_unpaired"] == ["email_send_attempt"]
    assert len(r["broken_suspects"]) == 2 and "timeout" in r["broken_suspects"][0]
    assert "retry: e-mail to alice@example.com failed" in r["broken_suspects"][1]
    assert r["broken_missing_services"] == []
    assert r["replay_grace_0"]["unpaired_attempts"] == ["email_send_attempt"]
    # the trade-off: a zero window misses the late retry line, a wide one takes in other payments'
    quiet = {row["grace_ms"]: row for row in r["quiet_tradeoff"]}
    assert not quiet[0]["retry_failure_caught"] and quiet[2000]["retry_failure_caught"]
    assert quiet[0]["suspects"] == 1 and quiet[2000]["suspects"] == 2
    busy = {row["grace_ms"]: row for row in r["busy_tradeoff"]}
    assert not busy[0]["retry_failure_caught"] and busy[1000]["retry_failure_caught"]
    assert busy[0]["suspects"] >= 2 and busy[5000]["suspects"] >= busy[1000]["suspects"] + 2
    assert r["window_exercise_passed"] is True and r["exercise_passed"] is True


def solved06(r: dict) -> None:
    assert r["baseline_job_exit_code"] == 0 and r["baseline_restore_verified"] is True
    # the pipeline that lies: exit 0, "backup complete", gzip's 20 bytes around nothing
    assert r["broken_job_exit_code"] == 0 and r["broken_restore_verified"] is False
    assert r["broken_finding_kinds"] == ["unreadable"] and r["broken_object_bytes"] == 20
    assert r["broken_cli_exit"] == 2
    assert r["fixed_job_exit_code"] == 0 and r["fixed_restore_verified"] is True
    assert r["fixed_tables"]["public.payments"] > 0 and r["fixed_tables"]["public.orders"] >= 5000
    assert 0 < r["rto_seconds"] < 30
    assert "too_old" in r["stale_finding_kinds"] and r["stale_age_hours"] > 36
    assert r["replay_default"]["missed"] == [] and r["replay_default"]["false_alarms"] == []
    assert r["replay_one_week"]["missed"] and set(r["replay_one_week"]["missed"]) < set(r["replay_default"]["flagged"])
    assert r["exercise_passed"] is True


# name: (seconds the whole notebook may take, what its results say as the learner first runs it,
#        and - where the browser goes on to solve the exercise - what they say then)
LEARNER_PATH = {
    "01_detect-cost-anomalies.ipynb": (240, lambda r: r["exercise_status"] == r["ack_exercise_status"] == "not yet"
                                       and r["budget_alert_fired"] is False and r["spike_count"] == 1, solved01),
    "02_correlate-logs-across-services.ipynb": (240, lambda r: r["exercise_status"] == "not yet"
                                                 and r["window_exercise_status"] == "not yet"
                                                 and r["broken_unpaired"] == ["email_send_attempt"], solved02),
    "03_detect-infrastructure-drift.ipynb": (300, lab03, None),  # solved headless without Terraform
    "04_verify-secret-rotation.ipynb": (360, lambda r: r["exercise_situations"] == {"database outage": False,
                                                                                    "bad Secret rollout": True}
                                        and r["naive_rotation_caught"] is True, None),
    "05_roll-back-a-slow-canary.ipynb": (360, lambda r: (r["v1_rolled_back"], r["v2_rolled_back"]) == (False, True)
                                         and r["exercise_status"] == "not yet", None),
    "06_prove-a-backup-restores.ipynb": (240, lambda r: r["exercise_status"] == "not yet"
                                         and r["broken_restore_verified"] is False
                                         and r["fixed_restore_verified"] is True, solved06),
}


def exercise_cells(nb: dict) -> tuple[list[int], list[int]]:
    """(the cells a learner edits to solve the exercises, the cells to re-run then): every code cell
    that reads solve_exercise, other than the parameters cell, and the check cell after it."""
    cells = nb["cells"]

    def code(i: int, has: str) -> bool:
        return cells[i]["cell_type"] == "code" and has in "".join(cells[i]["source"])

    edit = [i for i in range(len(cells)) if code(i, "solve_exercise")
            and "parameters" not in cells[i]["metadata"].get("tags", [])]
    rerun = []
    for i in edit:
        rerun.append(i)
        if not code(i, "grade("):
            rerun.append(next(j for j in range(i + 1, len(cells)) if code(j, "grade(")))
    return edit, rerun


def run_cells(notebook: Tab, indices: list[int]) -> None:
    """Run these cells one after another, as Ctrl+Enter in each does (the kernel queues them)."""
    for i in indices:
        cells(notebook).nth(i).locator(".jp-InputPrompt").click()
        notebook.page.keyboard.press("Control+Enter")


def solve(notebook: Tab, nb: dict) -> None:
    """What a learner does after the first run: write the solution into each exercise cell (here
    `solve_exercise = True` on its first line), re-run it and its check cell, then the clean-up."""
    notebook.show()
    assert cells(notebook).count() == len(nb["cells"]), "the tab shows a different number of cells than the notebook has"
    edit, rerun = exercise_cells(nb)
    for i in edit:
        cells(notebook).nth(i).locator(".cm-content").click()
        notebook.page.keyboard.press("Control+Home")
        notebook.page.keyboard.insert_text("solve_exercise = True\n")  # as pasted: no auto-indent of the line below
        notebook.page.keyboard.press("Escape")
    run_cells(notebook, [*rerun, len(nb["cells"]) - 1])


# the second learner: Labs 04 and 05 headless on a kubeconfig each, the exercise solved
SECOND = {"04 kubeconfig solved": LAB04, "05 kubeconfig solved": LAB05}


@pytest.fixture(scope="module")
def learners(browser, lab_server, tmp_path_factory):
    """Two learners on one workshop machine at once. The first keeps one JupyterLab page open and
    opens every notebook in a tab of it (File > Open from Path), the longest first, and runs each
    as soon as it is open; each is saved when its kernel is idle. Where the browser solves the
    exercise, the first run stops above the clean-up cell (Run All Above Selected Cell), is saved
    and read, then the exercise is solved and the rest run. Meanwhile the second runs Labs 04 and 05
    headless with papermill, each on a kubeconfig of its own (a `labkit cluster serve`), with the
    exercise solved. {"tabs": {name: (its Tab, the results of the first run)}, "second": what the
    second learner's runs left}; kernels shut down at the end."""
    runs_dir = Path(os.environ["LABKIT_RUNS_DIR"])
    before = set(runs_dir.glob("lab0[45]-*"))
    tmp = tmp_path_factory.mktemp("second")
    page = open_lab(browser, lab_server)  # one JupyterLab page, a tab per notebook (closed with the browser)
    with contextlib.ExitStack() as stack:
        serves = {name: stack.enter_context(cluster_serve(tmp / name[:2])) for name in SECOND}
        outs = {name: tmp / f"{name.replace(' ', '-')}.ipynb" for name in SECOND}
        procs = {name: papermill_process(src, outs[name], {"solve_exercise": True, "cluster_backend": "kubeconfig",
                                                            "kubeconfig": str(serves[name][1])})
                 for name, src in SECOND.items()}
        stack.callback(lambda: [p.kill() for p in procs.values() if p.poll() is None])
        tabs = {}
        SHOTS.mkdir(parents=True, exist_ok=True)
        # the longest first, each run as soon as it is open, as a room of learners' would be
        for name in sorted(LEARNER_PATH, key=lambda n: (-LEARNER_PATH[n][0], n)):
            tabs[name] = notebook = open_notebook(page, lab_server, name)
            page.screenshot(path=str(SHOTS / f"{name.removesuffix('.ipynb')}-top.png"))  # title and intro
            if LEARNER_PATH[name][2]:
                cells(notebook).last.locator(".jp-InputPrompt").click()
                menu(page, "Run", "Run All Above Selected Cell")
            else:
                menu(page, "Run", "Run All Cells")
        time.sleep(3)
        first = {}
        for name, notebook in reversed(tabs.items()):  # the shortest first: their exercises get solved meanwhile
            idle(notebook, LEARNER_PATH[name][0])
            save(notebook)
            first[name] = read_results(lab_server[2] / name)
            if LEARNER_PATH[name][2]:
                solve(notebook, saved(lab_server, name))
        for name, notebook in tabs.items():
            if LEARNER_PATH[name][2]:
                idle(notebook, 120)
                save(notebook)
            notebook.show()
            page.screenshot(path=str(SHOTS / f"{name.removesuffix('.ipynb')}-end.png"))
        second = {"failed": {}, "left": {}, "serve_exit": {}, "outs": outs, "tmp": tmp, "before": before}
        for name, proc in procs.items():
            try:
                code = proc.wait(timeout=300)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = "still running at the deadline"
            if code != 0:
                second["failed"][name] = f"exit {code}: " + outs[name].with_suffix(".log").read_text()[-3000:]
        from kubernetes import client, config

        for name, (serve, kubeconfig) in serves.items():  # each lab removed what it applied
            api = config.new_client_from_config(config_file=str(kubeconfig))
            second["left"][name] = [d.metadata.name for d in client.AppsV1Api(api).list_namespaced_deployment(
                "default").items]
            second["serve_exit"][name] = stop_serve(serve)
    yield {"tabs": {name: (notebook, first[name]) for name, notebook in tabs.items()}, "second": second}
    for notebook in tabs.values():
        notebook.show()
        menu(page, "Kernel", "Shut Down Kernel")
        page.wait_for_timeout(500)
    page.close()
    deadline = time.monotonic() + 30
    while leftovers() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert leftovers() == []


@pytest.mark.parametrize("name", sorted(LEARNER_PATH))
def test_a_learner_runs_the_notebook_in_jupyterlab(learners, lab_server, name):
    notebook, first = learners["tabs"][name]
    nb = saved(lab_server, name)
    assert problems(nb) == []
    unrun = [c.get("id") for c in nb["cells"] if c["cell_type"] == "code" and c.get("execution_count") is None]
    assert unrun == [], "cells that never ran"
    assert LEARNER_PATH[name][1](first), first
    final = read_results(lab_server[2] / name)
    solved = LEARNER_PATH[name][2]
    if solved:  # the same kernel after the learner solved the exercise
        solved(final)
    ports = final.get("ports") or [final["endpoint_port"]]
    assert [p for p in ports if port_is_listening(p)] == [], "the clean-up cell left a port listening"
    echoes = [c.get("id") for c in nb["cells"] for o in c.get("outputs", [])
              if o.get("output_type") == "execute_result" and set(o.get("data", {})) == {"text/plain"}]
    assert echoes == [], "a cell echoes a bare value (Out[n]: True); tables and widgets are meant to show"
    panel = notebook.show().panel
    assert panel.locator(".jp-OutputArea-output img").count() >= 1, "no figure shown inline"
    assert panel.get_by_text("Error displaying widget").count() == 0
    assert panel.get_by_text("could not be displayed").count() == 0
    explorer = panel.locator(".widget-interact").first
    explorer.scroll_into_view_if_needed()
    output = explorer.locator(".widget-output")
    before = output.inner_text()
    control = explorer.locator(".noUi-handle, select, input[type=checkbox]").first
    tag = control.evaluate("e => e.tagName")
    if tag == "SELECT":
        options = control.locator("option").all_inner_texts()
        control.select_option(options[0] if options[-1] == control.input_value() else options[-1])
        moved = changes(output, before)
    elif tag == "INPUT":
        control.click()
        moved = changes(output, before)
    else:  # a slider: to its far end, and to the other one if that reads the same (a few steps
        # may not cross any recorded value: Lab 05's P99 threshold from 2.0 to 2.3 s once did not)
        control.focus()
        moved = False
        for key in ("End", "Home"):
            notebook.page.keyboard.press(key)
            if changes(output, before):
                moved = True
                break
    assert moved, f"the explorer's output did not change when a control moved: {before!r}"


def changes(output, before: str, seconds: float = 5.0) -> bool:
    """Whether the explorer's output reads other than before within seconds (the kernel re-runs it)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if output.inner_text() != before:
            return True
        time.sleep(0.25)
    return False


def test_two_learners_run_labs_04_and_05_at_once_on_one_machine(learners, lab_server, assert_port_free):
    """Labs 04 and 05 twice each at the same time, as two learners on one workshop machine: the
    first's in JupyterLab as a learner opens them (every parameter at its default: the local
    cluster, the exercise not yet solved, the teaching clocks), the second's headless on the
    kubeconfig path with the exercise solved, on the CI clocks. Every run records its lesson; no
    two runs share a port, a run directory or a database; each lab removes what it applied; the
    passwords leak nowhere; nothing is left."""
    second = learners["second"]
    assert second["failed"] == {}
    assert second["left"] == {name: [] for name in SECOND}
    assert second["serve_exit"] == {name: 0 for name in SECOND}
    runs_dir = Path(os.environ["LABKIT_RUNS_DIR"])
    new_runs = set(runs_dir.glob("lab0[45]-*")) - second["before"]
    assert len([d for d in new_runs if d.name.startswith("lab04-")]) == 2
    assert len([d for d in new_runs if d.name.startswith("lab05-")]) == 2
    lab04_dirs = [*(d for d in new_runs if d.name.startswith("lab04-")), *(second["tmp"] / "04").glob("cluster-*")]
    browser04 = lab_server[2] / LAB04.name
    results = {"04 learner": learners["tabs"][LAB04.name][1], "05 learner": learners["tabs"][LAB05.name][1],
               **{name: read_results(out) for name, out in second["outs"].items()}}
    assert_lab04(results["04 learner"], browser04, lab04_dirs, solved=False)
    assert_lab04(results["04 kubeconfig solved"], second["outs"]["04 kubeconfig solved"], lab04_dirs, solved=True)
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
