"""The byte scanner under `labkit logs correlate`: find a trace ID in large chunks, as
``grep -F`` does, count lines, keep a sparse (offset, line, timestamp) index per chunk, and
find a time inside a file by binary search - memory bounded by the chunk size."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from .parse import Line, parse_line, quick_ts

# a non-empty trace ID as a JSON string, as structured loggers write it
_TRACED = re.compile(rb'"(?:trace_id|w3c_trace_id)"\s*:\s*"[^"]')

# A whole JSON line of another trace as structured loggers write it: the timestamp first, in UTC
# to the microsecond, a non-empty trace ID later. Matched, it is known without a parse.
OTHER_TRACE_LINE = re.compile(
    rb'\{\s*"timestamp"\s*:\s*"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)"'
    rb'(?=.*"(?:trace_id|w3c_trace_id)"\s*:\s*"[^"]).*\}\s*\Z', re.S)

CHUNK = 1 << 20  # fits in cache: the search and the line count read it twice
SEEK_SLACK = 64 << 10  # stop the binary search when the range is this small
TOLERANCE = dt.timedelta(seconds=1)  # disorder allowed between writers of one file


@dataclass
class FileScan:
    """Pass 1 over one file: where the trace ID occurs, and a sparse time index."""

    path: Path
    service: str
    index: list[tuple[int, int, dt.datetime | None]] = field(default_factory=list)
    hits: list[tuple[int, int, Line]] = field(default_factory=list)  # (offset, line number, line)

    @property
    def ordered(self) -> bool:
        """The sparse index is in time order (within TOLERANCE)."""
        last = None
        for _off, _ln, ts in self.index:
            if ts is None:
                continue
            if last is not None and ts < last - TOLERANCE:
                return False
            last = ts if last is None else max(last, ts)
        return True


def search(path: Path, needle: bytes) -> FileScan:
    """Pass 1: find lines containing needle; count lines; keep a sparse time index.

    One bytearray is reused for the whole file (no per-chunk copies); a line longer
    than the buffer grows it, so memory follows the longest line, not the file.
    """
    scan = FileScan(path, path.stem)
    buf = bytearray(CHUNK)
    kept = 0  # bytes of an unfinished line carried at the front of buf
    start = 0  # file offset of buf[0]
    line_no = 0  # newlines before buf[0]
    with open(path, "rb", buffering=0) as fh:
        while True:
            if kept == len(buf):
                buf.extend(bytes(len(buf)))  # one line longer than the buffer
            with memoryview(buf) as view:
                got = fh.readinto(view[kept:])
            end = kept + got
            if got == 0:
                if kept:  # a last line without its newline
                    buf[kept:kept + 1] = b"\n"
                    _record_chunk(scan, buf, kept + 1, start, line_no, needle)
                return scan
            cut = buf.rfind(b"\n", 0, end) + 1
            if cut == 0:
                kept = end
                continue
            line_no += _record_chunk(scan, buf, cut, start, line_no, needle)
            buf[: end - cut] = buf[cut:end]
            kept, start = end - cut, start + cut


def _newlines(buf: bytearray, stop: int) -> int:
    """Newlines in buf[:stop], at memory speed (measured: 3.5x faster than numpy's == / count_nonzero
    on 25 MB here, and no numpy import for the command)."""
    return buf.count(b"\n", 0, stop)


def _record_chunk(scan: FileScan, buf: bytearray, cut: int, start: int, line_no: int, needle: bytes) -> int:
    """Index and search buf[:cut] (whole lines); returns its number of newlines."""
    first = buf.find(b"\n", 0, cut)
    scan.index.append((start, line_no, quick_ts(bytes(buf[:first]))))
    pos = buf.find(needle, 0, cut)
    while pos != -1:
        ls = buf.rfind(b"\n", 0, pos) + 1
        le = buf.find(b"\n", pos, cut)
        scan.hits.append((start + ls, line_no + _newlines(buf, ls) + 1, parse_line(bytes(buf[ls:le]))))
        pos = buf.find(needle, le, cut)
    return _newlines(buf, cut)


def line_at(fh, offset: int) -> tuple[int, bytes]:
    """The first full line starting at or after offset: (its offset, its bytes)."""
    fh.seek(offset)
    if offset:
        fh.readline()
    at = fh.tell()
    return at, fh.readline()


def seek_time(fh, lo: int, hi: int, target: dt.datetime) -> int:
    """A line-start offset in [lo, hi) at or before the first line with timestamp >= target."""
    while hi - lo > SEEK_SLACK:
        mid = (lo + hi) // 2
        at, raw = line_at(fh, mid)
        ts = quick_ts(raw.rstrip(b"\n")) if raw else None
        if ts is not None and ts < target:
            lo = at
        else:
            hi = mid
    return lo


def count_lines(fh, start: int, end: int) -> int:
    """Newlines in the file between two offsets."""
    fh.seek(start)
    count, left = 0, end - start
    while left > 0:
        data = fh.read(min(CHUNK, left))
        if not data:
            break
        count += data.count(b"\n")
        left -= len(data)
    return count


def other_trace(body: bytes, ids: list[bytes]) -> bool:
    """A whole JSON line that carries a trace ID which is not one of ours - recognised from its
    bytes, so the window pass need not parse it (most lines in a busy window are such)."""
    if body[:1] != b"{" or not (body.endswith(b"}") or body.rstrip().endswith(b"}")):
        return False
    if _TRACED.search(body) is None:
        return False
    for i in ids:  # a loop, not any(...): this runs for every line of the window
        if i in body:
            return False
    return True


def time_key(ts: dt.datetime) -> bytes:
    """A time as UTC text to the microsecond (2026-11-01T00:00:41.163083Z): such texts order as
    the times do, so a line written that way is compared without parsing it."""
    u = ts.astimezone(dt.UTC)
    return (f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
            f".{u.microsecond:06d}Z").encode()


def parse_key(key: bytes) -> dt.datetime:
    """The time a time_key stands for."""
    return dt.datetime.fromisoformat(key.decode()).astimezone(dt.UTC)
