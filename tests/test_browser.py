"""The learner's path in JupyterLab, in a real browser: Debian's Chromium driven by Playwright.

Each notebook is opened in a real `jupyter lab`, run with Run > Run All Cells, saved, and read
back: no error and no traceback in any cell, every figure inline, every explorer a working
widget (its output changes when a control moves), and the lesson recorded. One test restarts
the kernel in the middle of Lab 04 and finds nothing left running. Screenshots land in
build/browser/ for a person to look at.

Skip locally with `pytest -m "not browser"` (CI runs them).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import REPO, leftovers

from labkit.paths import NOTEBOOKS
from labkit.results import read_results
from labkit.waiting import free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
SHOTS = REPO / "build" / "browser"
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")]


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    """`jupyter lab` on a copy of notebooks/, on a free 127.0.0.1 port with its own token, as root too.
    The kernels it starts are not headless: they make widgets, as in a learner's browser. They run
    on the suite's CI clocks (LABKIT_CLOCKS, labkit.clocks); the teaching clocks are run by the
    two-learners test in test_notebooks.py."""
    root, home = tmp_path_factory.mktemp("lab"), tmp_path_factory.mktemp("home")
    for nb in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"):
        shutil.copy(nb, root / nb.name)
    port, token = free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k != "LABKIT_HEADLESS"}
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


def open_notebook(browser, lab_server, name: str):
    url, token, _root = lab_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    # a workspace of its own per tab, reset: a tab never restores another tab's layout
    page.goto(f"{url}/lab/workspaces/{name[:2]}-{secrets.token_hex(3)}/tree/{name}?reset&token={token}")
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
    idle(page, 60)
    return page


def idle(page, seconds: float) -> None:
    """Until the kernel is idle with no cell queued or running; a deadline names what was still busy."""
    deadline = time.monotonic() + seconds
    quiet_since = None
    while True:
        busy = page.locator(".jp-InputPrompt", has_text="[*]").count()
        status = page.locator(".jp-Notebook-ExecutionIndicator").first.get_attribute("data-status") or ""
        if busy == 0 and status in ("idle", ""):
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 1.5:
                return
        else:
            quiet_since = None
        assert time.monotonic() < deadline, f"still busy after {seconds:.0f} s: {busy} cells running, kernel {status}"
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


def lab03(r: dict) -> bool:
    """Lab 03 as a learner meets it: real terraform plan where Terraform runs here (it does in CI)."""
    plans = (r["plan_ssh_exit"], r["plan_new_group_exit"], r["plan_after_codify_exit"])
    return (r["exercise_status"] == "not yet" and r["unmanaged_found"] == ["debug-temp"]
            and (plans == (2, 0, 0) if "real Terraform" in r["applied_with"] else plans == (None, None, None)))


# name: (seconds the whole notebook may take, what its recorded results must say)
LEARNER_PATH = {
    "01_detect-cost-anomalies.ipynb": (240, lambda r: r["exercise_status"] == r["ack_exercise_status"] == "not yet"
                                       and r["budget_alert_fired"] is False and r["spike_count"] == 1),
    "02_correlate-logs-across-services.ipynb": (240, lambda r: r["exercise_status"] == "not yet"
                                                 and r["window_exercise_status"] == "not yet"
                                                 and r["broken_unpaired"] == ["email_send_attempt"]),
    "03_detect-infrastructure-drift.ipynb": (300, lab03),
    "04_verify-secret-rotation.ipynb": (360, lambda r: r["exercise_situations"] == {"database outage": False,
                                                                                    "bad Secret rollout": True}
                                        and r["naive_rotation_caught"] is True),
    "05_roll-back-a-slow-canary.ipynb": (360, lambda r: (r["v1_rolled_back"], r["v2_rolled_back"]) == (False, True)
                                         and r["exercise_status"] == "not yet"),
    "06_prove-a-backup-restores.ipynb": (240, lambda r: r["exercise_status"] == "not yet"
                                         and r["broken_restore_verified"] is False
                                         and r["fixed_restore_verified"] is True),
}


@pytest.fixture(scope="module")
def learners(browser, lab_server):
    """Every notebook opened in its own tab and run at once (Run > Run All Cells), as a room of
    learners would; each saved when its kernel is idle. {name: page}; kernels shut down at the end."""
    pages = {name: open_notebook(browser, lab_server, name) for name in sorted(LEARNER_PATH)}
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, page in pages.items():  # the top: title and intro as rendered markdown
        page.screenshot(path=str(SHOTS / f"{name.removesuffix('.ipynb')}-top.png"))
        menu(page, "Run", "Run All Cells")
    time.sleep(3)
    for name, page in pages.items():
        idle(page, LEARNER_PATH[name][0])
        page.keyboard.press("Control+s")
        page.wait_for_timeout(1500)
        page.screenshot(path=str(SHOTS / f"{name.removesuffix('.ipynb')}-end.png"))
    yield pages
    for page in pages.values():
        menu(page, "Kernel", "Shut Down Kernel")
        page.wait_for_timeout(500)
        page.close()
    deadline = time.monotonic() + 30
    while leftovers() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert leftovers() == []


@pytest.mark.parametrize("name", sorted(LEARNER_PATH))
def test_a_learner_runs_the_notebook_in_jupyterlab(learners, lab_server, name):
    page = learners[name]
    nb = saved(lab_server, name)
    assert problems(nb) == []
    unrun = [c.get("id") for c in nb["cells"] if c["cell_type"] == "code" and c.get("execution_count") is None]
    assert unrun == [], "cells that never ran"
    results = read_results(lab_server[2] / name)
    assert LEARNER_PATH[name][1](results), results
    echoes = [c.get("id") for c in nb["cells"] for o in c.get("outputs", [])
              if o.get("output_type") == "execute_result" and set(o.get("data", {})) == {"text/plain"}]
    assert echoes == [], "a cell echoes a bare value (Out[n]: True); tables and widgets are meant to show"
    assert page.locator(".jp-OutputArea-output img").count() >= 1, "no figure shown inline"
    assert page.get_by_text("Error displaying widget").count() == 0
    assert page.get_by_text("could not be displayed").count() == 0
    explorer = page.locator(".widget-interact").first
    explorer.scroll_into_view_if_needed()
    output = explorer.locator(".widget-output")
    before = output.inner_text()
    control = explorer.locator(".noUi-handle, select, input[type=checkbox]").first
    tag = control.evaluate("e => e.tagName")
    if tag == "SELECT":
        options = control.locator("option").all_inner_texts()
        control.select_option(options[0] if options[-1] == control.input_value() else options[-1])
    elif tag == "INPUT":
        control.click()
    else:
        control.focus()
        for _ in range(3):
            page.keyboard.press("ArrowRight")
    page.wait_for_timeout(3000)
    assert output.inner_text() != before, "the explorer's output did not change when a control moved"


def test_a_kernel_restart_in_the_middle_of_lab_04_leaves_nothing_running(browser, lab_server):
    name = "04_verify-secret-rotation.ipynb"
    page = open_notebook(browser, lab_server, name)
    try:
        menu(page, "Run", "Run All Cells")
        page.wait_for_timeout(25_000)  # the cluster, PostgreSQL and the app are up by now
        assert page.locator(".jp-InputPrompt", has_text="[*]").count() > 0, "the run finished before the restart"
        menu(page, "Kernel", "Restart Kernel")
        page.locator(".jp-Dialog-button.jp-mod-accept").click()
        idle(page, 60)
        deadline = time.monotonic() + 30
        while leftovers(include_active=True) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert leftovers(include_active=True) == []
    finally:
        menu(page, "Kernel", "Shut Down Kernel")
        page.close()
