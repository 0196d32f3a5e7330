"""Start real components on 127.0.0.1, wait for them by probe, and always stop them.

A :class:`Run` owns a private directory (logs, config, data) and every process
started in it.  Each process gets its own process group; a small watchdog process
(``labkit.watchdog``) kills those groups if the owner dies without cleaning up, for
example when a notebook kernel is killed.  Every process is also recorded with its
pid *and* start time in ``processes.jsonl`` so ``labkit clean`` can stop leftovers
without ever killing a recycled pid.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from .errors import ComponentError, ReadinessTimeout
from .paths import runs_root

LOCALHOST = "127.0.0.1"
PROCESS_LOG = "processes.jsonl"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return sock.getsockname()[1]


def port_is_listening(port: int, host: str = LOCALHOST) -> bool:
    """True when something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def tcp_probe(port: int, host: str = LOCALHOST) -> Callable[[], bool]:
    """A readiness probe that passes once host:port accepts connections."""
    return lambda: port_is_listening(port, host)


def http_probe(url: str, status: int = 200, context: ssl.SSLContext | None = None) -> Callable[[], bool]:
    """A readiness probe that passes once GET url answers the given status (HTTPS: trusting context)."""

    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1.0, context=context) as resp:
                return resp.status == status
        except urllib.error.HTTPError as err:
            return err.code == status
        except (OSError, ValueError):
            return False

    return probe


def wait_until(
    probe: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    alive: Callable[[], bool] | None = None,
    detail: Callable[[], str] | None = None,
) -> float:
    """Poll probe until it passes; return the seconds waited or raise ReadinessTimeout."""
    start = time.monotonic()
    delay = 0.02
    while True:
        if probe():
            return time.monotonic() - start
        if alive is not None and not alive():
            extra = f": {detail()}" if detail else ""
            raise ComponentError(f"{what} exited before it became ready{extra}")
        if time.monotonic() - start > timeout:
            extra = f" ({detail()})" if detail else ""
            raise ReadinessTimeout(f"{what} was not ready after {timeout:.0f} s{extra}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)


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


def _pump_stamped(pipe, log_path: Path) -> None:
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


class Run:
    """A lab run: a private directory and every component started in it, stopped together."""

    def __init__(self, label: str = "lab", root: Path | None = None, grace: float = 5.0):
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.id = f"{label}-{stamp}-{os.getpid()}-{secrets.token_hex(3)}"
        self.dir = (root or runs_root()) / self.id
        self.logs = self.dir / "logs"
        self.logs.mkdir(parents=True, mode=0o700)
        self.dir.chmod(0o700)  # it holds the cluster token, pod logs and database credentials
        self.grace = grace
        self.processes: list[ManagedProcess] = []
        self._cleanups: list[tuple[str, Callable[[], None]]] = []
        self._lock = threading.Lock()
        self._watchdog: subprocess.Popen | None = None
        self._watch_fd: int | None = None
        self.stopped = False
        self._write_meta()
        atexit.register(self.stop, keep=True)  # never reached its clean-up: keep the logs for a look

    def _write_meta(self) -> None:
        owner = {"pid": os.getpid(), "start_time": process_start_time(os.getpid())}
        meta = {"id": self.id, "owner": owner, "stopped": self.stopped}
        (self.dir / "run.json").write_text(json.dumps(meta))

    def _remember(self, name: str, pid: int, start_time: float) -> None:
        """Append to processes.jsonl: every process ever started, for `labkit clean` and tests."""
        rec = {"name": name, "pid": pid, "pgid": pid, "start_time": start_time}
        with open(self.dir / PROCESS_LOG, "a") as fh:
            fh.write(json.dumps(rec) + "\n")

    def _tell_watchdog(self, line: str) -> None:
        if self._watchdog is None:
            read_fd, write_fd = os.pipe()
            self._watchdog = subprocess.Popen(
                [sys.executable, "-m", "labkit.watchdog", str(self.grace)],
                stdin=read_fd,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                cwd=str(Path(__file__).resolve().parent.parent),
            )
            os.close(read_fd)
            self._watch_fd = write_fd
            pid = self._watchdog.pid
            self._remember("watchdog", pid, process_start_time(pid) or time.time())
        assert self._watch_fd is not None
        os.write(self._watch_fd, (line + "\n").encode())

    def start_process(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | str | None = None,
        ready: Callable[[], bool] | None = None,
        timeout: float = 30.0,
        ports: dict[str, int] | None = None,
        preexec: Callable[[], None] | None = None,
        inherit_env: bool = True,
        stop_signal: int = signal.SIGTERM,
        stamped: bool = False,
    ) -> ManagedProcess:
        """Start argv in its own process group, log to logs/<name>.out, wait for ready().

        With inherit_env=False the process gets only PATH, HOME, LANG and env (a pod does
        not see the notebook's environment).  With stamped=True the output comes through a
        pipe and logs/<name>.ts gets each line's arrival time (`kubectl logs --timestamps`).
        """
        if self.stopped:
            raise ComponentError(f"run {self.id} is already stopped; start a new one")
        log_path = self.logs / f"{name}.out"
        full_env = self.process_env(env, inherit_env)
        with open(log_path, "ab") as log:
            try:
                popen = subprocess.Popen(
                    list(argv),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE if stamped else log,
                    stderr=subprocess.STDOUT,
                    env=full_env,
                    cwd=str(cwd) if cwd else None,
                    start_new_session=True,
                    preexec_fn=preexec,
                )
            except OSError as err:
                raise ComponentError(f"cannot start {name}: {err.strerror}: {argv[0]}") from None
        if stamped:
            threading.Thread(target=_pump_stamped, args=(popen.stdout, log_path), name=f"output-{name}",
                             daemon=True).start()
        proc = ManagedProcess(
            name=name,
            argv=list(argv),
            popen=popen,
            log_path=log_path,
            start_time=process_start_time(popen.pid) or time.time(),
            ports=dict(ports or {}),
            stop_signal=stop_signal,
        )
        with self._lock:
            self.processes.append(proc)
            self._remember(name, popen.pid, proc.start_time)
            self._tell_watchdog(f"add {popen.pid}")
        if ready is not None:
            try:
                wait_until(
                    ready, timeout=timeout, what=name, alive=proc.alive, detail=proc.log_tail
                )
            except ComponentError:
                self.stop_process(proc)
                raise
        return proc

    @staticmethod
    def process_env(env: dict[str, str] | None, inherit_env: bool = True) -> dict[str, str]:
        """The environment start_process gives a process."""
        base = dict(os.environ) if inherit_env else {
            k: os.environ[k] for k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if k in os.environ}
        return {**base, **(env or {})}

    def run_command(self, name: str, argv: Sequence[str], *, env: dict[str, str] | None = None,
                    cwd: Path | str | None = None, timeout: float = 300.0,
                    preexec: Callable[[], None] | None = None) -> tuple[int, str]:
        """Run a command to completion as a tracked process (stopped with the run if it hangs)."""
        proc = self.start_process(name, argv, env=env, cwd=cwd, preexec=preexec)
        try:
            code = proc.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop_process(proc)
            raise ComponentError(f"{name} did not finish within {timeout:.0f} s: {proc.log_tail()}") from None
        self.stop_process(proc)
        return code, proc.log_path.read_text(errors="replace")

    def stop_process(self, proc: ManagedProcess) -> None:
        """Stop one process group (SIGTERM, then SIGKILL after the grace period)."""
        kill_group(proc.pid, self.grace, proc.stop_signal)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.popen.wait(timeout=self.grace)
        with self._lock:
            if proc in self.processes:
                self.processes.remove(proc)
            if self._watch_fd is not None:
                with contextlib.suppress(OSError):
                    self._tell_watchdog(f"del {proc.pid}")

    def add_cleanup(self, name: str, fn: Callable[[], None]) -> None:
        """Call fn when the run stops (in reverse order of registration)."""
        with self._lock:
            self._cleanups.append((name, fn))

    def stop(self, keep: bool | None = None) -> None:
        """Stop every component of this run; safe to call more than once.

        A run that stops cleanly removes its directory (logs, pod files, database data) unless
        keep is true or LABKIT_KEEP_RUNS=1; one whose stop had errors, or that still finds a
        process of its own alive, keeps it for a look (`labkit clean` removes it later).
        """
        if self.stopped:
            return
        self.stopped = True
        errors = []
        for name, fn in reversed(self._cleanups):
            try:
                fn()
            except Exception as err:  # keep stopping the rest
                errors.append(f"{name}: {err}")
        self._cleanups.clear()
        for proc in reversed(list(self.processes)):
            self.stop_process(proc)
        if self._watch_fd is not None:
            os.close(self._watch_fd)
            self._watch_fd = None
        if self._watchdog is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._watchdog.wait(timeout=self.grace + 2)
        self._write_meta()
        atexit.unregister(self.stop)  # unregisters every registration of this bound method
        if keep is None:
            keep = os.environ.get("LABKIT_KEEP_RUNS", "") not in ("", "0")
        if not keep and not errors and not leftover_processes(self.dir):
            shutil.rmtree(self.dir, ignore_errors=True)
        if errors:
            raise ComponentError("some components did not stop cleanly: " + "; ".join(errors))

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.stop(keep=True if exc_type is not None else None)  # a failed run keeps its directory


@dataclass
class CleanReport:
    """What ``labkit clean`` found and did."""

    stopped: list[str] = field(default_factory=list)
    removed_runs: list[str] = field(default_factory=list)
    active_runs: list[str] = field(default_factory=list)


def _owner_alive(meta: dict) -> bool:
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
        if _owner_alive(meta) and not meta.get("stopped"):
            report.active_runs.append(run_dir.name)
            continue
        for rec in leftover_processes(run_dir):
            kill_group(rec["pgid"], grace=3.0)
            report.stopped.append(f"{rec.get('name')} (pid {rec['pid']}, run {run_dir.name})")
        if remove:
            shutil.rmtree(run_dir, ignore_errors=True)
            report.removed_runs.append(run_dir.name)
    return report


_current: Run | None = None


def current_run(label: str = "lab") -> Run:
    """The run of this interpreter (a notebook kernel), created on first use.

    Under `make soak` (LABKIT_STACK_DUMPS set) the kernel prints every thread's stack to its
    original stderr on SIGUSR1, so a hung cell can be looked into from outside."""
    global _current
    if os.environ.get("LABKIT_STACK_DUMPS") and sys.__stderr__ is not None:
        import faulthandler

        faulthandler.register(signal.SIGUSR1, file=sys.__stderr__, all_threads=True)
    if _current is None or _current.stopped:
        _current = Run(label)
    return _current
