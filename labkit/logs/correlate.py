"""Correlate one trace across every service's log: timeline, gaps, suspects.

Two passes per ``*.log`` file, memory bounded by the chunk size:

1. a bytes search for the trace ID over large chunks (what ``grep -F`` does), which
   also counts lines and keeps a sparse index of (offset, line, timestamp) per chunk;
2. for the trace's time window (first to last event, plus a grace period), a seek to
   the window - files are appended in time order - and a parse of only those lines,
   to find untraced lines there: the *suspects*.

If a file's sparse index or its window shows it is not in time order, that file is
parsed in full instead, so no line is missed.  Warnings (lines that are not JSON
objects) cover every line the check examined: the trace's lines and each window.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from .parse import Line, parse_line, quick_ts

# a non-empty trace ID as a JSON string, as structured loggers write it
_TRACED = re.compile(rb'"(?:trace_id|w3c_trace_id)"\s*:\s*"[^"]')

CHUNK = 1 << 20  # fits in cache: the search and the line count read it twice
SEEK_SLACK = 64 << 10  # stop the binary search when the range is this small
TOLERANCE = dt.timedelta(seconds=1)  # disorder allowed between writers of one file
MAX_WARNINGS = 1000
STANDARD_KEYS = {"timestamp", "service", "level", "event", "trace_id", "w3c_trace_id"}
# An attempt is answered by one of its outcomes, later, in the same service.
ATTEMPT_OUTCOMES: dict[str, tuple[str, ...]] = {
    "payment_request_received": ("payment_complete", "payment_failed"),
    "email_send_attempt": ("email_queued", "email_timeout", "email_failed"),
}


@dataclass
class Event:
    """One structured line of the trace."""

    timestamp: dt.datetime | None
    service: str
    level: str
    event: str
    fields: dict[str, Any]
    file: str
    line: int

    def to_dict(self) -> dict[str, Any]:
        return {"timestamp": self.timestamp.isoformat() if self.timestamp else None, "service": self.service,
                "level": self.level, "event": self.event, "fields": self.fields, "file": self.file,
                "line": self.line}


@dataclass
class Suspect:
    """An untraced line where the root cause may hide."""

    service: str
    file: str
    line: int
    timestamp: dt.datetime | None
    text: str
    level: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"service": self.service, "file": self.file, "line": self.line,
                "timestamp": self.timestamp.isoformat() if self.timestamp else None,
                "text": self.text[:500], "level": self.level, "reason": self.reason}


@dataclass
class Warning:
    """A line that is not a JSON object (kept, never silently dropped)."""

    file: str
    line: int
    problem: str


@dataclass
class Unpaired:
    """An attempt whose outcome never followed."""

    service: str
    attempt: str
    expected: tuple[str, ...]
    timestamp: dt.datetime | None
    file: str
    line: int

    def to_dict(self) -> dict[str, Any]:
        return {"service": self.service, "attempt": self.attempt, "expected": list(self.expected),
                "timestamp": self.timestamp.isoformat() if self.timestamp else None,
                "file": self.file, "line": self.line}


@dataclass
class Correlation:
    """Everything the logs say about one trace."""

    trace_id: str
    ids: set[str]
    log_dir: str
    services: list[str]
    events: list[Event] = field(default_factory=list)
    missing_services: list[str] = field(default_factory=list)
    unpaired_attempts: list[Unpaired] = field(default_factory=list)
    suspects: list[Suspect] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)
    unparsed_lines: int = 0
    window: tuple[dt.datetime, dt.datetime] | None = None
    grace_ms: int = 0
    full_scans: list[str] = field(default_factory=list)

    @property
    def services_seen(self) -> list[str]:
        return sorted({e.service for e in self.events})

    @property
    def errors(self) -> list[Event]:
        return [e for e in self.events if e.level in ("ERROR", "CRITICAL", "FATAL")]

    @property
    def has_findings(self) -> bool:
        return bool(self.missing_services or self.unpaired_attempts or self.suspects or self.errors)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "ids": sorted(self.ids),
            "log_dir": self.log_dir,
            "events": [e.to_dict() for e in self.events],
            "services": self.services,
            "services_seen": self.services_seen,
            "missing_services": self.missing_services,
            "unpaired_attempts": [u.to_dict() for u in self.unpaired_attempts],
            "suspects": [s.to_dict() for s in self.suspects],
            "errors": [e.to_dict() for e in self.errors],
            "unparsed_lines": self.unparsed_lines,
            "warnings": [vars(w) for w in self.warnings],
            "window": [t.isoformat() for t in self.window] if self.window else None,
            "grace_ms": self.grace_ms,
            "full_scans": self.full_scans,
        }


@dataclass
class _Scan:
    path: Path
    service: str
    index: list[tuple[int, int, dt.datetime | None]] = field(default_factory=list)
    hits: list[tuple[int, int, Line]] = field(default_factory=list)  # (offset, line number, line)

    @property
    def ordered(self) -> bool:
        last = None
        for _off, _ln, ts in self.index:
            if ts is None:
                continue
            if last is not None and ts < last - TOLERANCE:
                return False
            last = ts if last is None else max(last, ts)
        return True


def _search(path: Path, needle: bytes) -> _Scan:
    """Pass 1: find lines containing needle; count lines; keep a sparse time index.

    One bytearray is reused for the whole file (no per-chunk copies); a line longer
    than the buffer grows it, so memory follows the longest line, not the file.
    """
    scan = _Scan(path, path.stem)
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


def _record_chunk(scan: _Scan, buf: bytearray, cut: int, start: int, line_no: int, needle: bytes) -> int:
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


def _line_at(fh, offset: int) -> tuple[int, bytes]:
    """The first full line starting at or after offset: (its offset, its bytes)."""
    fh.seek(offset)
    if offset:
        fh.readline()
    at = fh.tell()
    return at, fh.readline()


def _seek_time(fh, lo: int, hi: int, target: dt.datetime) -> int:
    """A line-start offset in [lo, hi) at or before the first line with timestamp >= target."""
    while hi - lo > SEEK_SLACK:
        mid = (lo + hi) // 2
        at, raw = _line_at(fh, mid)
        ts = quick_ts(raw.rstrip(b"\n")) if raw else None
        if ts is not None and ts < target:
            lo = at
        else:
            hi = mid
    return lo


def _count_lines(fh, start: int, end: int) -> int:
    fh.seek(start)
    count, left = 0, end - start
    while left > 0:
        data = fh.read(min(CHUNK, left))
        if not data:
            break
        count += data.count(b"\n")
        left -= len(data)
    return count


class _Disorder(Exception):
    """A file turned out not to be in time order inside the window."""


def _other_trace(body: bytes, ids: list[bytes]) -> bool:
    """A whole JSON line that carries a trace ID which is not one of ours - recognised from its
    bytes, so the window pass need not parse it (most lines in a busy window are such)."""
    return (body[:1] == b"{" and body.rstrip().endswith(b"}") and _TRACED.search(body) is not None
            and not any(i in body for i in ids))


def _examine(scan: _Scan, fh, start: int, line_no: int, stop: dt.datetime | None, ctx: dict) -> None:
    """Pass 2: classify every line from start until a timestamp passes stop."""
    seen_hits = {off for off, _ln, _l in scan.hits}
    ids, t0, t1 = ctx["ids"], ctx["t0"], ctx["t1"]
    id_bytes = [i.encode() for i in ids]
    last_ts = None
    inside = False  # past the window's start in this file (for lines without a timestamp)
    fh.seek(start)
    off, ln = start, line_no
    for raw in fh:
        off, ln, size = off + len(raw), ln + 1, len(raw)
        body = raw.rstrip(b"\n")
        if off - size not in seen_hits and _other_trace(body, id_bytes):
            line, ts = None, quick_ts(body)  # another trace's line: only its time matters
        else:
            line = parse_line(body)
            ts = line.timestamp
        if ts is not None:
            if stop is not None and last_ts is not None and ts < last_ts - TOLERANCE:
                raise _Disorder
            last_ts = ts if last_ts is None else max(last_ts, ts)
            if stop is not None and ts > stop:
                return
            inside = t0 <= ts <= t1
        if line is None or off - size in seen_hits:
            continue  # another trace's line, or one pass 1 has taken already
        if line.problem:
            _warn(ctx, scan, ln, line)
        if line.ids & ids:
            ctx["events"].append(_event(scan, ln, line))
        elif line.ids:
            continue  # another trace's line (either ID)
        elif (ts is not None and t0 <= ts <= t1) or (ts is None and inside):
            ctx["suspects"].append(_suspect(scan, ln, line, "untraced line inside the trace's window"))


def _warn(ctx: dict, scan: _Scan, ln: int, line: Line) -> None:
    ctx["unparsed"] += 1
    if len(ctx["warnings"]) < MAX_WARNINGS:
        ctx["warnings"].append(Warning(str(scan.path), ln, line.problem or ""))


def _event(scan: _Scan, ln: int, line: Line) -> Event:
    obj = line.obj or {}
    return Event(line.timestamp, str(obj.get("service") or scan.service), line.level,
                 str(obj.get("event", "")), {k: v for k, v in obj.items() if k not in STANDARD_KEYS},
                 str(scan.path), ln)


def _suspect(scan: _Scan, ln: int, line: Line, reason: str) -> Suspect:
    return Suspect(scan.service, str(scan.path), ln, line.timestamp, line.text, line.level, reason)


def discover(log_dir: str | Path) -> list[Path]:
    """The services' log files (*.log), sorted; an error when there are none."""
    path = Path(log_dir)
    if not path.is_dir():
        raise InputError(f"{path}: no such log directory")
    files = sorted(p for p in path.glob("*.log") if p.is_file())
    if not files:
        raise InputError(f"{path}: no *.log files (one file per service is expected)")
    return files


def correlate(trace_id: str, log_dir: str | Path, grace_ms: int = 2000) -> Correlation:
    """Build the trace's timeline from every *.log file in log_dir (pay- ID or W3C trace ID)."""
    trace_id = trace_id.strip()
    if len(trace_id) < 8 or any(c.isspace() for c in trace_id):
        raise InputError(f"{trace_id!r} does not look like a trace ID (pay-xxxxxxxx or 32 hex digits)")
    if grace_ms < 0:
        raise InputError("grace_ms must not be negative")
    files = discover(log_dir)
    scans = [_search(p, trace_id.encode()) for p in files]
    result = Correlation(trace_id, {trace_id}, str(log_dir), [s.service for s in scans], grace_ms=grace_ms)
    ctx: dict[str, Any] = {"events": [], "suspects": [], "warnings": [], "unparsed": 0}
    for scan in scans:
        for _off, ln, line in scan.hits:
            if trace_id in line.ids:
                result.ids |= line.ids  # learn the other ID of the trace
                ctx["events"].append(_event(scan, ln, line))
            else:
                ctx["suspects"].append(_suspect(scan, ln, line, "mentions the trace ID but does not carry it"))
            if line.problem:
                _warn(ctx, scan, ln, line)
    times = [e.timestamp for e in ctx["events"] if e.timestamp is not None]
    if times:
        t0, t1 = min(times), max(times) + dt.timedelta(milliseconds=grace_ms)
        ctx.update(ids=result.ids, t0=t0, t1=t1)
        result.window = (t0, t1)
        for scan in scans:
            _window_pass(scan, ctx, result)
    result.events = sorted(ctx["events"], key=lambda e: (e.timestamp or dt.datetime.max.replace(tzinfo=dt.UTC), e.file, e.line))
    result.suspects = sorted(ctx["suspects"], key=lambda s: (s.file, s.line))
    result.warnings, result.unparsed_lines = ctx["warnings"], ctx["unparsed"]
    result.missing_services = sorted(set(result.services) - set(result.services_seen))
    result.unpaired_attempts = unpaired(result.events)
    return result


def _window_pass(scan: _Scan, ctx: dict, result: Correlation) -> None:
    saved = (len(ctx["events"]), len(ctx["suspects"]), len(ctx["warnings"]), ctx["unparsed"])
    with open(scan.path, "rb") as fh:
        if scan.ordered:
            begin = ctx["t0"] - TOLERANCE
            k = max([i for i, (_o, _l, ts) in enumerate(scan.index) if ts is not None and ts < begin] or [0])
            lo, line_no, _ts = scan.index[k]
            hi = scan.index[k + 1][0] if k + 1 < len(scan.index) else os.path.getsize(scan.path)
            start = _seek_time(fh, lo, hi, begin)
            line_no += _count_lines(fh, lo, start)
            try:
                _examine(scan, fh, start, line_no, ctx["t1"] + TOLERANCE, ctx)
                return
            except _Disorder:
                # undo what the window pass added, then read the whole file
                del ctx["events"][saved[0]:], ctx["suspects"][saved[1]:], ctx["warnings"][saved[2]:]
                ctx["unparsed"] = saved[3]
        result.full_scans.append(str(scan.path))
        _examine(scan, fh, 0, 0, None, ctx)


def unpaired(events: list[Event]) -> list[Unpaired]:
    """Attempts not followed by one of their outcomes in the same service."""
    open_attempts: list[Event] = []
    for e in events:
        if e.event in ATTEMPT_OUTCOMES:
            open_attempts.append(e)
            continue
        for a in open_attempts:
            if a.service == e.service and e.event in ATTEMPT_OUTCOMES[a.event]:
                open_attempts.remove(a)
                break
    return [Unpaired(a.service, a.event, ATTEMPT_OUTCOMES[a.event], a.timestamp, a.file, a.line)
            for a in open_attempts]
