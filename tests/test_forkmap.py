"""fork_map: the command line's way to read several files at once."""

from __future__ import annotations

import os

import pytest

from labkit.errors import InputError, LabkitError
from labkit.logs.forkmap import fork_map


def square_with_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def test_results_come_back_in_order_from_several_processes():
    results = fork_map(square_with_pid, list(range(7)), jobs=3)
    assert [r for r, _pid in results] == [x * x for x in range(7)]
    assert len({pid for _r, pid in results}) == 3  # this process and two workers
    assert os.getpid() in {pid for _r, pid in results}


def test_one_job_or_one_item_runs_here():
    assert {pid for _r, pid in fork_map(square_with_pid, [1, 2, 3], jobs=1)} == {os.getpid()}
    assert {pid for _r, pid in fork_map(square_with_pid, [1], jobs=4)} == {os.getpid()}
    assert fork_map(square_with_pid, [], jobs=4) == []


def fails_in_a_worker(x: int) -> int:
    if x == 2 and os.getpid() != PARENT:
        raise InputError("bad file 2")
    if x == 1 and os.getpid() != PARENT:
        raise ZeroDivisionError("division by zero")
    return x


PARENT = os.getpid()


def test_a_workers_labkit_error_is_raised_as_itself_and_anything_else_in_one_line():
    with pytest.raises(InputError, match="bad file 2"):
        fork_map(fails_in_a_worker, [0, 3, 2], jobs=3)  # item 2 goes to the second worker
    with pytest.raises(LabkitError, match="worker failed: ZeroDivisionError: division by zero"):
        fork_map(fails_in_a_worker, [0, 1], jobs=2)


def test_no_worker_outlives_the_call():
    fork_map(square_with_pid, list(range(4)), jobs=4)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # every worker has been waited for
