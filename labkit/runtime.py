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
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .cleanup import PROCESS_LOG, leftover_processes
from .errors import ComponentError
from .paths import runs_root
from .processes import ManagedProcess, kill_group, process_start_time, pump_stamped
from .waiting import wait_until


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
            threading.Thread(target=pump_stamped, args=(popen.stdout, log_path), name=f"output-{name}",
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

    def ports(self) -> list[int]:
        """Every port this run's processes listen on."""
        return [p for proc in list(self.processes) for p in proc.ports.values()]

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
