"""Map a function over files in forked worker processes, as ``grep`` on several cores would.

The byte search and the line count hold Python's lock, so threads do not help; a fork
shares what the parent has already read and imported and costs a millisecond. Each worker
sends its results back pickled through a pipe. Used by the command line only (a notebook's
kernel runs threads, and a fork of a threaded process is not safe).
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Sequence
from typing import TypeVar

from ..errors import LabkitError

T = TypeVar("T")
R = TypeVar("R")


def cpus() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def fork_map(fn: Callable[[T], R], items: Sequence[T], jobs: int) -> list[R]:
    """[fn(x) for x in items], spread over `jobs` processes (this one included); results in
    order. An error in a worker is raised here (a LabkitError as itself, anything else named
    in one line). Sequential when jobs <= 1, with one item, or where there is no fork."""
    jobs = min(jobs, len(items))
    if jobs <= 1 or not hasattr(os, "fork"):
        return [fn(x) for x in items]
    groups = [list(range(i, len(items), jobs)) for i in range(jobs)]
    workers: list[tuple[int, int, list[int]]] = []
    results: list[R | None] = [None] * len(items)
    try:
        for group in groups[1:]:
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker: compute, send, leave without running the parent's clean-ups
                os.close(read)
                _work(fn, [items[i] for i in group], write)
            os.close(write)
            workers.append((pid, read, group))
        for i in groups[0]:
            results[i] = fn(items[i])
        while workers:
            pid, read, group = workers[0]
            with os.fdopen(read, "rb") as pipe:
                data = pipe.read()
            os.waitpid(pid, 0)
            workers.pop(0)
            status, value = pickle.loads(data) if data else ("error", "a worker process died")
            if status == "error":
                raise value if isinstance(value, LabkitError) else LabkitError(f"worker failed: {value}")
            for i, result in zip(group, value, strict=True):
                results[i] = result
    finally:
        for pid, read, _group in workers:  # interrupted, or a worker failed: stop the others
            try:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            except OSError:
                pass
            try:
                os.close(read)
            except OSError:
                pass
    return results  # type: ignore[return-value]


def _work(fn: Callable, items: list, write: int) -> None:
    code = 0
    try:
        try:
            data = pickle.dumps(("ok", [fn(x) for x in items]))
        except LabkitError as err:
            data = pickle.dumps(("error", err))
        except BaseException as err:  # noqa: BLE001 - sent to the parent, which raises it
            data = pickle.dumps(("error", f"{type(err).__name__}: {err}"))
        with os.fdopen(write, "wb") as pipe:
            pipe.write(data)
    except BaseException:  # noqa: BLE001 - the parent reports a worker that sent nothing
        code = 1
    finally:
        os._exit(code)
