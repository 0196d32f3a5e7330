"""The process runtime: probes, run directories, stop on every path, `labkit clean`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from conftest import LABKIT

from labkit.cleanup import clean, leftover_processes
from labkit.errors import ComponentError, ReadinessTimeout
from labkit.processes import process_start_time
from labkit.runtime import Run
from labkit.waiting import free_port, http_probe, port_is_listening, wait_until

HTTP_SERVER = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1"]


def alive(pid: int) -> bool:
    return process_start_time(pid) is not None and Path(f"/proc/{pid}").exists() and \
        "Z" not in Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]


def listener_pids(port: int) -> set[int]:
    return {c.pid for c in psutil.net_connections("tcp") if c.status == psutil.CONN_LISTEN and c.laddr.port == port}


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_when_a_server_starts_then_the_probe_waits_for_it_and_stop_releases_the_port(tmp_path):
    port = free_port()
    with Run("t", root=tmp_path) as run:
        proc = run.start_process("web", [*HTTP_SERVER, str(port)], cwd=tmp_path,
                                 ready=http_probe(f"http://127.0.0.1:{port}/"))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
            assert resp.status == 200
        assert (run.logs / "web.out").exists()
    assert not alive(proc.pid)
    assert not port_is_listening(port)
    assert json.loads((run.dir / "run.json").read_text())["stopped"] is True


def test_when_never_ready_then_timeout_names_the_component_and_it_is_stopped(tmp_path):
    with Run("t", root=tmp_path) as run:
        with pytest.raises(ReadinessTimeout, match="sleeper"):
            run.start_process("sleeper", ["sleep", "30"], ready=lambda: False, timeout=0.5)
        assert {r["name"] for r in leftover_processes(run.dir)} <= {"watchdog"}


def test_when_it_exits_before_ready_then_the_error_shows_its_last_output(tmp_path):
    with Run("t", root=tmp_path) as run, pytest.raises(ComponentError, match="exited.*bad config"):
        run.start_process("crash", [sys.executable, "-c", "print('bad config'); raise SystemExit(3)"],
                          ready=lambda: False, timeout=10)


def test_when_the_binary_does_not_exist_then_a_one_line_error(tmp_path):
    with Run("t", root=tmp_path) as run, pytest.raises(ComponentError, match="cannot start nothing"):
        run.start_process("nothing", ["/nonexistent/binary"])


def test_when_waiting_then_the_probe_is_polled_not_slept():
    calls = []
    waited = wait_until(lambda: calls.append(1) or len(calls) > 3, timeout=5, what="x")
    assert len(calls) == 4 and waited < 4.0  # only catches sleeping through the timeout, not a slow machine


def test_when_two_runs_start_then_directories_and_ports_differ(tmp_path):
    with Run("a", root=tmp_path) as a, Run("a", root=tmp_path) as b:
        assert a.dir != b.dir and a.dir.exists() and b.dir.exists()
    assert len({free_port() for _ in range(5)}) > 1


OWNER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from labkit.runtime import Run
    from labkit.waiting import http_probe
    port = int(sys.argv[2])
    run = Run("owner", root=Path(sys.argv[1]))
    p = run.start_process("web", [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
                          ready=http_probe(f"http://127.0.0.1:{port}/"))
    print(p.pid, flush=True)
    sys.stdin.readline()  # the test has seen the child alive
    if sys.argv[3] == "hang":
        time.sleep(120)
    elif sys.argv[3] == "raise":
        raise RuntimeError("a cell failed")
""")


@pytest.mark.parametrize("how", ["sigkill", "sigterm", "raise", "exit"])
def test_when_the_owner_dies_then_its_processes_are_stopped(tmp_path, how):
    port = free_port()
    mode = "hang" if how.startswith("sig") else how
    owner = subprocess.Popen([sys.executable, "-c", OWNER, str(tmp_path), str(port), mode],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    child = int(owner.stdout.readline())
    assert alive(child) and port_is_listening(port)
    owner.stdin.write("go\n")
    owner.stdin.flush()
    if how == "sigkill":
        owner.send_signal(signal.SIGKILL)
    elif how == "sigterm":
        owner.send_signal(signal.SIGTERM)
    owner.wait(timeout=30)
    assert wait_gone(child), f"{how}: child {child} outlived its owner"
    # the port is free again (another program on a busy machine may take it right away: not ours)
    assert child not in listener_pids(port)
    run_dir = next(tmp_path.glob("owner-*"))
    deadline = time.monotonic() + 10
    while leftover_processes(run_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert leftover_processes(run_dir) == []


def fake_run(root: Path, records: list[dict], owner_pid: int = 999_999_999) -> Path:
    run_dir = root / "fake-run"
    run_dir.mkdir()
    (run_dir / "run.json").write_text(json.dumps({"id": "fake", "owner": {"pid": owner_pid, "start_time": 1.0},
                                                  "stopped": False}))
    (run_dir / "processes.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return run_dir


def test_when_clean_finds_a_leftover_of_a_dead_run_then_it_is_stopped(tmp_path):
    victim = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        rec = {"name": "sleep", "pid": victim.pid, "pgid": victim.pid, "start_time": process_start_time(victim.pid)}
        fake_run(tmp_path, [rec])
        report = clean(tmp_path)
        victim.wait(timeout=10)
        assert len(report.stopped) == 1 and report.removed_runs == ["fake-run"]
    finally:
        victim.kill()
        victim.wait()


def test_when_a_recorded_pid_was_recycled_then_clean_leaves_it_alone(tmp_path):
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        rec = {"name": "old", "pid": bystander.pid, "pgid": bystander.pid,
               "start_time": process_start_time(bystander.pid) - 3600}
        fake_run(tmp_path, [rec])
        report = clean(tmp_path)
        assert report.stopped == [] and bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_when_the_owner_is_alive_then_clean_keeps_the_run(tmp_path):
    with Run("live", root=tmp_path) as run:
        report = clean(tmp_path)
        assert run.id in report.active_runs and run.dir.exists()


def test_cli_clean_reports_what_it_did(tmp_path):
    env = {**os.environ, "LABKIT_RUNS_DIR": str(tmp_path)}
    fake_run(tmp_path, [])
    proc = subprocess.run([*LABKIT, "clean"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0 and "1 run directories removed" in proc.stdout


def test_when_a_cell_hangs_then_the_run_ends_at_the_per_cell_timeout_naming_the_cell(tmp_path):
    import nbformat

    from labkit.runner import execute

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("import time\ntime.sleep(60)  # hangs")]
    nb.cells[1]["id"] = "cell-hang"
    path = tmp_path / "99_hang.ipynb"
    nbformat.write(nb, str(path))
    started = time.monotonic()
    outcome = execute(path, tmp_path / "out", {}, timeout=3)
    assert time.monotonic() - started < 45  # the deadline ended it, not the sleep
    assert not outcome.ok and outcome.error.startswith("cell 1 (cell-hang: import time)")
    assert "timed out" in outcome.error


def test_the_soak_flags_a_cell_past_its_budget_and_dumps_the_kernels_stacks(tmp_path):
    import nbformat

    from labkit.soak import soak

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("from labkit.runtime import current_run\nrun = current_run('soak-test')"),
                nbformat.v4.new_code_cell("import time\n\ndef stuck_here():\n    time.sleep(60)\n\nstuck_here()")]
    path = tmp_path / "99_stuck.ipynb"
    nbformat.write(nb, str(path))
    assert soak([path], rounds=1, concurrency=1, burners=0, cell_budget=3, timeout=10, out_dir=tmp_path / "soak",
                params={}) is False
    (log,) = (tmp_path / "soak").glob("*.log")
    stacks = log.read_text()
    assert "stuck_here" in stacks  # the kernel's main thread, caught in the cell's own function
    assert "papermill" in stacks  # and the client's threads, waiting on it


def test_a_run_that_stops_cleanly_removes_its_directory_and_a_failed_one_keeps_it(tmp_path, monkeypatch):
    monkeypatch.delenv("LABKIT_KEEP_RUNS", raising=False)
    with Run("done", root=tmp_path) as run:
        run.start_process("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
    assert not run.dir.exists()  # a finished run leaves nothing in the runs directory
    with pytest.raises(RuntimeError), Run("failed", root=tmp_path) as failed:
        raise RuntimeError("a cell failed")
    assert failed.dir.exists() and json.loads((failed.dir / "run.json").read_text())["stopped"] is True
    kept = Run("kept", root=tmp_path)
    kept.stop(keep=True)
    assert kept.dir.exists()
    monkeypatch.setenv("LABKIT_KEEP_RUNS", "1")
    with Run("env", root=tmp_path) as by_env:
        pass
    assert by_env.dir.exists()


def _notebook(path, *sources):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(nb, str(path))
    return path


def test_labkit_run_runs_notebooks_at_once_and_keeps_kernel_stderr_out_of_its_report(tmp_path):
    from labkit.results import read_results
    from labkit.runner import run_paths

    slow = ("import os, time\nfrom labkit.results import record\nos.write(2, b'kernel noise on fd 2\\n')\n"
            "time.sleep(4)\nrecord('who', who)")
    a = _notebook(tmp_path / "91_a.ipynb", "who = 'nobody'", slow)
    b = _notebook(tmp_path / "92_b.ipynb", "who = 'nobody'", slow)
    bad = _notebook(tmp_path / "93_bad.ipynb", "x = 1", "raise ValueError('broken on purpose')")
    out = tmp_path / "out"
    started = time.monotonic()
    outcomes = run_paths({a: {"who": "a"}, b: {"who": "b"}, bad: {}}, out, timeout=60, jobs=0)
    both = time.monotonic() - started
    assert [o.notebook for o in outcomes] == ["91_a", "92_b", "93_bad"]
    assert [o.ok for o in outcomes] == [True, True, False]
    assert outcomes[2].error.startswith("cell 3 (") and outcomes[2].error.endswith(  # after papermill's cell
        "raise ValueError('broken on purpose')): ValueError: broken on purpose")
    assert read_results(out / "91_a.ipynb")["who"] == "a" and read_results(out / "92_b.ipynb")["who"] == "b"
    assert "kernel noise on fd 2" in (out / "91_a.log").read_text()
    assert both < outcomes[0].seconds + outcomes[1].seconds  # they overlapped



def test_free_port_never_hands_a_reserved_port_to_another_process():
    """Between choosing a port and binding it a server can lose it to another process's bind(0):
    every port handed out is reserved machine-wide, and a reserved port is never handed out again
    while the reservation is fresh."""
    from labkit.waiting import RESERVATIONS

    mine = {free_port() for _ in range(20)}
    assert len(mine) == 20 and all((RESERVATIONS / str(p)).exists() for p in mine)
    script = "import json; from labkit.waiting import free_port; print(json.dumps([free_port() for _ in range(50)]))"
    theirs = json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                       timeout=60, check=True).stdout)
    assert not mine & set(theirs)
