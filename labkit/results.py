"""Record named results into an executed notebook and read them back.

``record(name, value)`` displays a small JSON payload under a labkit MIME type; the
executed notebook keeps it as an output, and :func:`read_results` (or ``labkit
results NB --json``) returns ``{name: value}``.  Tests assert on these values, never
on printed text.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .errors import InputError
from .jsonfile import read_json

MIME = "application/vnd.labkit.result+json"
_session: dict[str, Any] = {}


def _plain(value: Any) -> Any:
    """Convert numpy/pandas scalars and containers to JSON-safe Python values."""
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, (list, dict)):
        try:
            value = value.item()
        except (ValueError, TypeError):
            pass
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def record(name: str, value: Any) -> None:
    """Record value under name in this notebook's outputs. Returns nothing, so a record() at the end
    of a cell leaves no Out[n] prompt; the cell shows one aligned line, the value cut to fit."""
    plain = _plain(value)
    try:
        json.dumps(plain)
    except TypeError:
        raise InputError(f"result {name!r} is not JSON-serialisable: {type(value).__name__}") from None
    _session[name] = plain
    try:
        from IPython.display import display

        display({MIME: {"name": name, "value": plain}, "text/plain": recorded_line(name, plain)}, raw=True)
    except ImportError:  # outside IPython: the session copy is all there is
        pass


def record_all(values: Any, prefix: str = "") -> None:
    """Record every field of a dataclass, or item of a mapping, in one call (as prefix + name)."""
    import dataclasses

    if dataclasses.is_dataclass(values) and not isinstance(values, type):
        values = {f.name: getattr(values, f.name) for f in dataclasses.fields(values)}
    if not isinstance(values, dict):
        raise InputError(f"record_all wants a dataclass or a dict, got {type(values).__name__}")
    for name, value in values.items():
        record(f"{prefix}{name}", value)


def recorded_line(name: str, plain: Any, width: int = 100) -> str:
    """The text a person sees for one recorded result: `recorded  name ........ value`."""
    text = json.dumps(plain, ensure_ascii=False)
    line = f"recorded  {name:<30} {text}"
    return line if len(line) <= width else line[: width - 3] + "..."


def recorded() -> dict[str, Any]:
    """What this interpreter has recorded so far."""
    return dict(_session)


def read_results(path: str | Path) -> dict[str, Any]:
    """Every value recorded in an executed notebook, the last one winning per name."""
    nb = read_json(path, "notebook")
    if not isinstance(nb, dict):
        raise InputError(f"{path}: not a notebook (expected a JSON object)")
    found: dict[str, Any] = {}
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            payload = (out.get("data") or {}).get(MIME)
            if isinstance(payload, dict) and "name" in payload:
                found[payload["name"]] = payload.get("value")
    return found
