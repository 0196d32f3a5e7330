"""`make soak`: run notebooks concurrently and repeatedly under CPU load until something hangs.

Each round starts `--concurrency` papermill processes per chosen lab, at once, while
`--cpu-burners` processes keep the CPU busy. The output notebooks are watched as papermill
saves them after every cell: a cell still running after `--cell-budget` seconds counts as a
hang, and the stacks of its kernel and of its papermill client are dumped (SIGUSR1 and
faulthandler, into the soak's directory) before the per-cell timeout ends the run. Exit 0
only when every run of every round passed without a hang.

    python -m labkit.soak --lab 04 --lab 05 --rounds 3 --concurrency 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .paths import NOTEBOOKS
from .runner import select

CLIENT = ("import faulthandler, signal, sys; faulthandler.register(signal.SIGUSR1, all_threads=True); "
          "from papermill.cli import papermill; sys.argv[0] = 'papermill'; papermill()")


@dataclass
class SoakRun:
    """One notebook run of one round."""

    name: str
    output: Path
    log: Path
    proc: subprocess.Popen
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    hangs: list[str] = field(default_factory=list)
    dumped: set[int] = field(default_factory=set)


def running_cell(output: Path) -> tuple[int, str, float] | None:
    """(index, id, seconds running) of the cell papermill is executing, from its saved output."""
    try:
        nb = json.loads(output.read_text())
    except (OSError, ValueError):
        return None  # not written yet, or mid-write
    for index, cell in enumerate(nb.get("cells", [])):
        meta = cell.get("metadata", {}).get("papermill", {})
        if meta.get("status") == "running" and meta.get("start_time"):
            started = dt.datetime.fromisoformat(meta["start_time"])
            return index, cell.get("id", "?"), (dt.datetime.now(dt.UTC) - started).total_seconds()
    return None


def kernels_of(pid: int) -> list[int]:
    """The ipykernel processes a papermill process started."""
    import psutil

    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [c.pid for c in children if any("ipykernel" in part for part in c.cmdline())]


def dump_stacks(run: SoakRun, where: str) -> None:
    """SIGUSR1 to the papermill client and its kernel: both print every thread's stack to their logs."""
    run.hangs.append(where)
    for pid in [run.proc.pid, *kernels_of(run.proc.pid)]:
        if pid not in run.dumped:
            run.dumped.add(pid)
            try:
                os.kill(pid, signal.SIGUSR1)
            except ProcessLookupError:
                pass


def start_run(notebook: Path, out_dir: Path, name: str, timeout: int, params: dict) -> SoakRun:
    """Start one papermill client for notebook, its output and log in out_dir."""
    output, log = out_dir / f"{name}.ipynb", out_dir / f"{name}.log"
    argv = [sys.executable, "-c", CLIENT, str(notebook), str(output), "--cwd", str(NOTEBOOKS), "--no-progress-bar",
            "--execution-timeout", str(timeout), "--request-save-on-cell-execute", "-y", json.dumps(params)]
    env = {**os.environ, "LABKIT_STACK_DUMPS": "1"}  # kernels register faulthandler on SIGUSR1 (labkit.runtime)
    with open(log, "w") as fh:
        proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    return SoakRun(name, output, log, proc)


def burn() -> None:
    """Keep one CPU busy until killed."""
    while True:
        pass


def soak(notebooks: list[Path], rounds: int, concurrency: int, burners: int, cell_budget: float, timeout: int,
         out_dir: Path, params: dict) -> bool:
    """Run the notebooks as described above; True when every run passed and none hung."""
    out_dir.mkdir(parents=True, exist_ok=True)
    clean = True
    for round_no in range(1, rounds + 1):
        hogs = [subprocess.Popen([sys.executable, "-c", "from labkit.soak import burn; burn()"])
                for _ in range(burners)]
        runs = [start_run(nb, out_dir, f"r{round_no}-{nb.stem[:2]}-{i}", timeout, params)
                for nb in notebooks for i in range(concurrency)]
        try:
            deadline = time.monotonic() + timeout * 3 + 600
            while any(r.proc.poll() is None for r in runs):
                if time.monotonic() > deadline:
                    for r in runs:
                        if r.proc.poll() is None:
                            dump_stacks(r, "the whole run passed the soak's deadline")
                            time.sleep(1)
                            os.killpg(r.proc.pid, signal.SIGKILL)
                    break
                for r in runs:
                    if r.finished is None and r.proc.poll() is not None:
                        r.finished = time.monotonic()
                    cell = running_cell(r.output) if r.proc.poll() is None else None
                    if cell and cell[2] > cell_budget and not r.hangs:
                        dump_stacks(r, f"cell {cell[0]} ({cell[1]}) still running after {cell[2]:.0f} s")
                time.sleep(1)
        finally:
            for hog in hogs:
                hog.kill()
                hog.wait()
        for r in runs:
            code = r.proc.wait()
            seconds = (r.finished or time.monotonic()) - r.started
            ok = code == 0 and not r.hangs
            clean &= ok
            detail = "; ".join(r.hangs) + (f" (stacks in {r.log})" if r.hangs else "")
            print(f"round {round_no} {r.name}: {'ok' if ok else 'FAILED'} exit {code} in {seconds:.0f} s {detail}",
                  flush=True)
    return clean


def main(argv: list[str] | None = None) -> int:
    """`python -m labkit.soak`: run the rounds; 0 when every run ended in time."""
    p = argparse.ArgumentParser(prog="python -m labkit.soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--lab", action="append", help="lab number or notebook name (repeatable; default 04)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--concurrency", type=int, default=2, help="runs of each lab at once")
    p.add_argument("--cpu-burners", type=int, default=1, help="processes that keep a CPU busy meanwhile")
    p.add_argument("--cell-budget", type=float, default=120.0, help="seconds after which a running cell is a hang")
    p.add_argument("--timeout", type=int, default=300, help="papermill's per-cell timeout")
    p.add_argument("--out", default="build/soak", help="where outputs, logs and stack dumps go")
    p.add_argument("--widgets", action="store_true",
                   help="create the explorers' widgets as JupyterLab would (the condition that once hung nbclient)")
    args = p.parse_args(argv)
    if args.widgets:
        os.environ.pop("LABKIT_HEADLESS", None)
    else:
        os.environ["LABKIT_HEADLESS"] = "1"
    ok = soak(select(args.lab or ["04"]), args.rounds, args.concurrency, args.cpu_burners, args.cell_budget, args.timeout,
              Path(args.out), {"solve_exercise": True})
    print("soak clean" if ok else "soak found a failure or a hang", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
