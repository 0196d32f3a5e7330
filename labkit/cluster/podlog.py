"""A container's output as `kubectl logs` reads it: lines with their arrival times, tail, since, follow.

The pod runtime captures each container run's output in `<name>.out` and, line by line,
its arrival time in `<name>.ts` (fixed width, see runtime.stamp_now).  A Reader picks up
where it left off, so `kubectl logs -f` gets each line once.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..processes import STAMP_WIDTH, stamp_now


class Reader:
    """Reads the complete lines added to a container's output since the last read, with their times."""

    def __init__(self, path: Path):
        self.path, self.stamps = path, path.with_suffix(".ts")
        self.offset = self.lines = 0
        self._partial = b""

    def read(self, final: bool = False) -> list[tuple[str, bytes]]:
        """(time, line) pairs; final=True also returns an unterminated last line."""
        data = b""
        if self.path.exists():
            with self.path.open("rb") as f:
                f.seek(self.offset)
                data = f.read()
        self.offset += len(data)
        *complete, self._partial = (self._partial + data).split(b"\n")
        stamps = self._stamps(len(complete))
        self.lines += len(complete)
        out = [(stamp, line + b"\n") for stamp, line in zip(stamps, complete, strict=True)]
        if final and self._partial:
            out.append((stamps[-1] if stamps else stamp_now(), self._partial))
            self._partial = b""
        return out

    def _stamps(self, count: int) -> list[str]:
        found: list[str] = []
        if count and self.stamps.exists():
            with self.stamps.open("rb") as f:
                f.seek(self.lines * STAMP_WIDTH)
                found = f.read(count * STAMP_WIDTH).decode().split()
        return found + [stamp_now()] * (count - len(found))  # output captured without times: now


def since(query: dict[str, str]) -> str | None:
    """The earliest time a line may have (sinceSeconds or sinceTime), as a comparable stamp; None: all."""
    if (query.get("sinceSeconds") or "").isdigit():
        start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=int(query["sinceSeconds"]))
    elif query.get("sinceTime"):
        try:
            start = dt.datetime.fromisoformat(query["sinceTime"].replace("Z", "+00:00")).astimezone(dt.UTC)
        except ValueError:
            raise ValueError(f"sinceTime {query['sinceTime']!r} is not an RFC 3339 time") from None
    else:
        return None
    return start.strftime("%Y-%m-%dT%H:%M:%S.") + f"{start.microsecond:06d}000Z"


def render(entries: list[tuple[str, bytes]], timestamps: bool) -> bytes:
    """Log lines as kubectl logs prints them, with RFC 3339 stamps when asked."""
    return b"".join((stamp.encode() + b" " + line) if timestamps else line for stamp, line in entries)
