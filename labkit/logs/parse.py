"""Reading one log line: JSON object or plain text, its timestamp, its trace IDs.

Timestamps are ISO 8601 with or without an offset (no offset = UTC).  A plain-text
line's timestamp is its first token, or its first two tokens (``2026-11-27 10:00:00,123``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

UTC = dt.UTC
_TS_FIELD = re.compile(rb'"timestamp"\s*:\s*"([^"]{10,40})"')
_LEVEL = re.compile(r"\b(CRITICAL|FATAL|ERROR|WARN(?:ING)?|INFO|DEBUG)\b")


def parse_ts(text: str | None) -> dt.datetime | None:
    """An aware UTC datetime from ISO 8601 text, or None."""
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace(",", ".", 1) if "," in text else text)
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def plain_ts(text: str) -> dt.datetime | None:
    """The leading timestamp of a plain-text line (one or two tokens), or None."""
    parts = text.split(None, 2)
    if not parts:
        return None
    return parse_ts(parts[0]) or (parse_ts(f"{parts[0]}T{parts[1]}") if len(parts) > 1 else None)


def quick_ts(raw: bytes) -> dt.datetime | None:
    """The timestamp of a raw line without parsing the whole of it (for the sparse index)."""
    if raw.startswith(b"{"):
        match = _TS_FIELD.search(raw)
        return parse_ts(match.group(1).decode("ascii", "replace")) if match else None
    return plain_ts(raw[:64].decode("utf-8", "replace"))


@dataclass
class Line:
    """One log line, classified."""

    text: str
    timestamp: dt.datetime | None
    obj: dict[str, Any] | None = None
    problem: str | None = None  # why it is not a JSON object (a warning), if it is not
    bad_utf8: bool = False
    ids: set[str] = field(default_factory=set)

    @property
    def level(self) -> str:
        """The line's level: the JSON field, or the first level word of a plain line."""
        if self.obj is not None:
            return str(self.obj.get("level", "INFO")).upper()
        match = _LEVEL.search(self.text[:120])
        return match.group(1).replace("WARNING", "WARN") if match else "UNKNOWN"


def parse_line(raw: bytes) -> Line:
    """Classify a raw line (without its newline)."""
    try:
        text = raw.decode("utf-8")
        bad = False
    except UnicodeDecodeError:
        text, bad = raw.decode("utf-8", "replace"), True
    text = text.rstrip("\r")
    stripped = text.strip()
    if not stripped:
        return Line(text, None, None, "empty line", bad)
    try:
        value = json.loads(stripped)
    except ValueError:
        if stripped.startswith("{"):
            return Line(text, quick_ts(raw), None, "truncated or malformed JSON", bad)
        return Line(text, plain_ts(stripped), None, "plain text, not JSON", bad)
    if isinstance(value, dict):
        ids = {str(value[k]) for k in ("trace_id", "w3c_trace_id") if value.get(k)}
        ts = value.get("timestamp")
        return Line(text, parse_ts(ts) if isinstance(ts, str) else None, value, None, bad, ids)
    return Line(text, None, None, f"JSON that is not an object ({type(value).__name__})", bad)
