"""Exercises: load a lab's reference solution from labs/<lab>/solution/, and grade an attempt.

A check cell never raises: it says solved, not yet (and what is missing), or that the
learner's own code crashed - apart from a check that could not run at all.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import InputError, first_line
from .paths import LABS


def load_solution(lab: str, name: str) -> Any:
    """The object `name` defined in labs/<lab>/solution/<name>.py."""
    path = LABS / lab / "solution" / f"{name}.py"
    if not path.is_file():
        raise InputError(f"no solution file {path}")
    spec = importlib.util.spec_from_file_location(f"labkit_solution_{lab.replace('-', '_')}_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        return getattr(module, name)
    except AttributeError:
        raise InputError(f"{path} does not define {name}") from None


class LearnerCrash(Exception):
    """The learner's code raised (or the API refused what it produced): not a wrong answer, a crash."""


def learner(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the learner's code; whatever it raises becomes a LearnerCrash naming it in one line."""
    try:
        return fn(*args, **kwargs)
    except Exception as err:
        raise LearnerCrash(first_line(err, with_type=True)) from None


@dataclass
class Outcome:
    """What the check cell shows and records: solved, not yet (and why), or a crash - never an exception."""

    passed: bool
    status: str  # "solved", "not yet", "crashed" (the learner's code), "check failed" (the environment)
    detail: str

    def show(self) -> str:
        """One line for the notebook: the status and what it means."""
        return {"solved": "solved: ", "not yet": "not yet: ", "crashed": "your code crashed - ",
                "check failed": "the check itself could not run (not your code): "}[self.status] + self.detail

    def record(self, name: str = "exercise") -> None:
        """Record {name}_passed and {name}_status in the notebook, and print what they mean."""
        from .results import record_all

        record_all({"passed": self.passed, "status": self.status}, prefix=f"{name}_")
        print(self.show())


def grade(check: Callable[[], bool | tuple[bool, str]], solved: str, not_yet: str) -> Outcome:
    """Run an exercise's check; it returns passed or (passed, why not). Never raises."""
    try:
        result = check()
    except LearnerCrash as err:
        return Outcome(False, "crashed", str(err))
    except Exception as err:
        return Outcome(False, "check failed", first_line(err, with_type=True))
    passed, why = result if isinstance(result, tuple) else (bool(result), not_yet)
    return Outcome(True, "solved", solved) if passed else Outcome(False, "not yet", why or not_yet)
