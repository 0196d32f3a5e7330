"""Exercises: load a lab's reference solution from labs/<lab>/solution/."""

from __future__ import annotations

import importlib.util
from typing import Any

from .errors import InputError
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
