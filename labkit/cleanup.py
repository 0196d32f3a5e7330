"""`labkit clean`: find the runs on this machine, the processes they recorded, and stop the
leftovers of runs whose owner is gone (a recycled pid is never taken for ours)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .paths import runs_root
from .processes import kill_group, process_start_time

PROCESS_LOG = "processes.jsonl"


@dataclass
class CleanReport:
    """What ``labkit clean`` found and did."""

    stopped: list[str] = field(default_factory=list)
    removed_runs: list[str] = field(default_factory=list)
    active_runs: list[str] = field(default_factory=list)


def owner_alive(meta: dict) -> bool:
    """The process that owns a run (pid and start time from its run.json) is still running."""
    owner = meta.get("owner") or {}
    pid, started = owner.get("pid"), owner.get("start_time")
    if not isinstance(pid, int):
        return False
    now = process_start_time(pid)
    return now is not None and started is not None and abs(now - started) < 1.0


def iter_runs(root: Path | None = None) -> Iterator[tuple[Path, dict]]:
    """Every run directory under root with its metadata (unreadable ones skipped)."""
    base = root or runs_root()
    for run_dir in sorted(base.glob("*/run.json")):
        try:
            yield run_dir.parent, json.loads(run_dir.read_text())
        except (OSError, ValueError):
            continue


def recorded_processes(run_dir: Path) -> list[dict]:
    """Every process a run ever started, as recorded in its processes.jsonl."""
    try:
        lines = (run_dir / PROCESS_LOG).read_text().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # a line cut short by a crash
        if isinstance(rec, dict) and isinstance(rec.get("pid"), int):
            out.append(rec)
    return out


def leftover_processes(run_dir: Path) -> list[dict]:
    """Recorded processes still alive *with the same start time* (a recycled pid is not ours)."""
    alive = []
    for rec in recorded_processes(run_dir):
        started = process_start_time(rec["pid"])
        if started is not None and abs(started - float(rec.get("start_time", 0))) < 1.0:
            alive.append(rec)
    return alive


def clean(root: Path | None = None, remove: bool = True) -> CleanReport:
    """Stop leftovers of runs whose owner is gone (pid and start time must both match)."""
    import shutil

    report = CleanReport()
    for run_dir, meta in iter_runs(root):
        if owner_alive(meta) and not meta.get("stopped"):
            report.active_runs.append(run_dir.name)
            continue
        for rec in leftover_processes(run_dir):
            kill_group(rec["pgid"], grace=3.0)
            report.stopped.append(f"{rec.get('name')} (pid {rec['pid']}, run {run_dir.name})")
        if remove:
            shutil.rmtree(run_dir, ignore_errors=True)
            report.removed_runs.append(run_dir.name)
    return report
