"""OS processes a run starts: each in its own process group, its output logged with a time
stamp per line, stopped with SIGTERM then SIGKILL - and recognised by pid *and* start time."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil


def process_start_time(pid: int) -> float | None:
    """The start time of pid as the kernel reports it, or None if it does not exist."""
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None


def group_alive(pgid: int) -> bool:
    """True while any non-zombie process remains in the process group."""
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False


def kill_group(pgid: int, grace: float = 5.0, sig: int = signal.SIGTERM) -> None:
    """Signal a process group (SIGTERM), then SIGKILL whatever is left after grace seconds."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def tail(path: Path, lines: int = 5) -> str:
    """The last lines of a log file, joined with ' | ' for one-line error messages."""
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


STAMP_WIDTH = len("2026-01-01T00:00:00.000000000Z\n")  # one fixed-width line per output line


def stamp_now() -> str:
    """RFC 3339 with nanoseconds in UTC, fixed width (what `kubectl logs --timestamps` shows)."""
    now = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now // 10**9)) + f".{now % 10**9:09d}Z"


def pump_stamped(pipe, log_path: Path) -> None:
    """Copy a process's output to log_path, and each line's arrival time to log_path's .ts file.

    The stamp is written before the line, so a reader never sees a line without its time.
    Ends at the process's end of output; prints nothing, whatever happens.
    """
    try:
        with pipe, open(log_path, "ab") as out, open(log_path.with_suffix(".ts"), "ab") as stamps:
            while chunk := os.read(pipe.fileno(), 65536):
                if lines := chunk.count(b"\n"):
                    stamps.write((stamp_now() + "\n").encode() * lines)
                    stamps.flush()
                out.write(chunk)
                out.flush()
    except (OSError, ValueError):
        pass


@dataclass
class ManagedProcess:
    """One OS process started by a Run, in its own process group."""

    name: str
    argv: list[str]
    popen: subprocess.Popen
    log_path: Path
    start_time: float
    ports: dict[str, int] = field(default_factory=dict)
    stop_signal: int = signal.SIGTERM

    @property
    def pid(self) -> int:
        """The process ID."""
        return self.popen.pid

    def alive(self) -> bool:
        """True while the process has not exited."""
        return self.popen.poll() is None

    def log_tail(self, lines: int = 5) -> str:
        """The last lines of this process's captured output."""
        return tail(self.log_path, lines)
