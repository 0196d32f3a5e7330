"""Lazy package exports (PEP 562): `labkit.cost.check` imports labkit.cost.lab - and pandas - only
when it is first used, so `labkit --help` and `labkit logs correlate` start without them."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def exports(package: str, table: dict[str, list[str]]) -> tuple[Callable[[str], Any], list[str]]:
    """(module __getattr__, __all__) for a package whose names live in its submodules."""
    where = {name: module for module, names in table.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return __getattr__, sorted(where)
