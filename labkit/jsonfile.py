"""Read a JSON input file with one clear InputError for each way it can be wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import InputError


def read_json(path: str | Path, what: str = "file") -> Any:
    """The parsed JSON of path; InputError names the file and says missing, unreadable, empty or invalid."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InputError(f"{path}: no such {what}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot read the {what}: {err}") from None
    if not text.strip():
        raise InputError(f"{path}: the {what} is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON (line {err.lineno}, column {err.colno})") from None
