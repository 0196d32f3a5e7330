"""Lazy package exports (PEP 562): `labkit.cost.check` imports labkit.cost.check - and pandas - only
when it is first used, so `labkit --help` and `labkit logs correlate` start without them."""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from typing import Any


def exports(package: str, table: dict[str, list[str]]) -> tuple[Callable[[str], Any], list[str]]:
    """(module __getattr__, __all__) for a package whose names live in its submodules.

    A name that is also a submodule's (`labkit.logs.correlate`, the function, in the module of
    the same name) stays the function: the import system's binding of the submodule to the
    package is declined, so the name keeps resolving through __getattr__.
    """
    where = {name: module for module, names in table.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    shadowed = {name for name in where if name in table}

    class _Package(types.ModuleType):
        def __setattr__(self, name: str, value: Any) -> None:
            if name in shadowed and isinstance(value, types.ModuleType):
                return  # the submodule stays reachable as sys.modules[f"{package}.{name}"]
            super().__setattr__(name, value)

    if shadowed:
        sys.modules[package].__class__ = _Package
    return __getattr__, sorted(where)
