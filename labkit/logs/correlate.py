"""Correlate one trace across every service's log: timeline, gaps, suspects.

Two passes per ``*.log`` file, memory bounded by the chunk size (labkit.logs.scan):

1. a bytes search for the trace ID over large chunks (what ``grep -F`` does), which
   also counts lines and keeps a sparse index of (offset, line, timestamp) per chunk;
2. for the trace's time window (first to last event, plus a grace period), a seek to
   the window - files are appended in time order - and a parse of only those lines,
   to find untraced lines there: the *suspects*.

If a file's sparse index or its window shows it is not in time order, that file is
parsed in full instead, so no line is missed.  Warnings (lines that are not JSON
objects) cover every line the check examined: the trace's lines and each window.

What an attempt is, and which events answer it, is a vocabulary (`pairs`): the lab's
payment and e-mail events by default, any team's own from `--pair` on the command line.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from .forkmap import fork_map
from .parse import Line, parse_line, quick_ts
from .result import Correlation, Event, LineWarning, Suspect, Unpaired
from .scan import (
    OTHER_TRACE_LINE,
    TOLERANCE,
    FileScan,
    count_lines,
    other_trace,
    parse_key,
    search,
    seek_time,
    time_key,
)

MAX_WARNINGS = 1000
PARALLEL_FROM = 16 << 20  # bytes of logs before the command reads files at once
STANDARD_KEYS = {"timestamp", "service", "level", "event", "trace_id", "w3c_trace_id"}
# An attempt is answered by one of its outcomes, later, in the same service (the lab's vocabulary).
ATTEMPT_OUTCOMES: dict[str, tuple[str, ...]] = {
    "payment_request_received": ("payment_complete", "payment_failed"),
    "email_send_attempt": ("email_queued", "email_timeout", "email_failed"),
}


def parse_pair(text: str) -> tuple[str, tuple[str, ...]]:
    """ATTEMPT=OUTCOME[,OUTCOME...] from the command line, as (attempt, outcomes)."""
    attempt, sep, outcomes = text.partition("=")
    names = tuple(o.strip() for o in outcomes.split(",") if o.strip())
    if not sep or not attempt.strip() or not names:
        raise InputError(f"--pair wants ATTEMPT=OUTCOME[,OUTCOME...], got {text!r}")
    return attempt.strip(), names


@dataclass
class _Found:
    """What the passes have collected so far, and the trace's window once it is known."""

    ids: set[str]
    events: list[Event] = field(default_factory=list)
    suspects: list[Suspect] = field(default_factory=list)
    warnings: list[LineWarning] = field(default_factory=list)
    unparsed: int = 0
    t0: dt.datetime | None = None
    t1: dt.datetime | None = None
    full_scan: bool = False  # pass 2 read the whole file (it is not in time order)

    def window(self) -> _Found:
        """An empty _Found for the same trace and window (one file's pass 2 fills it)."""
        return _Found(set(self.ids), t0=self.t0, t1=self.t1)

    def add(self, other: _Found) -> None:
        """Take in what one file's pass 2 found (warnings up to MAX_WARNINGS)."""
        self.events += other.events
        self.suspects += other.suspects
        self.warnings += other.warnings[:max(0, MAX_WARNINGS - len(self.warnings))]
        self.unparsed += other.unparsed

    def warn(self, scan: FileScan, ln: int, line: Line) -> None:
        self.unparsed += 1
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(LineWarning(str(scan.path), ln, line.problem or ""))


class _Disorder(Exception):
    """A file turned out not to be in time order inside the window."""


def _examine(scan: FileScan, fh, start: int, line_no: int, stop: dt.datetime | None, found: _Found) -> None:
    """Pass 2: classify every line from start until a timestamp passes stop.

    Times are compared as their UTC text to the microsecond (time_key), which orders as the
    times do: most lines in a busy window are other traces' lines written that way, and
    those are recognised and placed in time without being parsed (OTHER_TRACE_LINE)."""
    seen_hits = {off for off, _ln, _l in scan.hits}
    ids = found.ids
    t0, t1 = time_key(found.t0), time_key(found.t1)
    until = time_key(stop) if stop is not None else None
    id_bytes = [i.encode() for i in ids]
    last = None
    inside = False  # past the window's start in this file (for lines without a timestamp)
    fh.seek(start)
    off, ln = start, line_no
    for raw in fh:
        off, ln, size = off + len(raw), ln + 1, len(raw)
        fast = OTHER_TRACE_LINE.match(raw)
        if fast is not None and not any(i in raw for i in id_bytes):
            line, key = None, fast.group(1)  # another trace's line (pass 1's hits carry our ID)
        else:
            body = raw.rstrip(b"\n")
            if off - size not in seen_hits and other_trace(body, id_bytes):
                line, ts = None, quick_ts(body)  # another trace's line: only its time matters
            else:
                line = parse_line(body)
                ts = line.timestamp
            key = time_key(ts) if ts is not None else None
        if key is not None:
            if last is None or key > last:
                last = key
            elif until is not None and parse_key(key) < parse_key(last) - TOLERANCE:
                raise _Disorder
            if until is not None and key > until:
                return
            inside = t0 <= key <= t1
        if line is None or off - size in seen_hits:
            continue  # another trace's line, or one pass 1 has taken already
        if line.problem:
            found.warn(scan, ln, line)
        if line.ids & ids:
            found.events.append(_event(scan, ln, line))
        elif line.ids:
            continue  # another trace's line (either ID)
        elif (key is not None and t0 <= key <= t1) or (key is None and inside):
            found.suspects.append(_suspect(scan, ln, line, "untraced line inside the trace's window"))


def _event(scan: FileScan, ln: int, line: Line) -> Event:
    obj = line.obj or {}
    return Event(line.timestamp, str(obj.get("service") or scan.service), line.level,
                 str(obj.get("event", "")), {k: v for k, v in obj.items() if k not in STANDARD_KEYS},
                 str(scan.path), ln)


def _suspect(scan: FileScan, ln: int, line: Line, reason: str) -> Suspect:
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


def correlate(trace_id: str, log_dir: str | Path, grace_ms: int = 2000,
              pairs: Mapping[str, tuple[str, ...]] | None = None, jobs: int = 1) -> Correlation:
    """Build the trace's timeline from every *.log file in log_dir (pay- ID or W3C trace ID).

    `pairs` maps each attempt event to the events that answer it (default: the lab's
    ATTEMPT_OUTCOMES); an attempt none of them follows in the same service is reported.
    `jobs` > 1 reads that many files at once in forked processes (the command line does;
    a notebook's kernel runs threads and must not fork, so the default is one).
    """
    trace_id = trace_id.strip()
    if len(trace_id) < 8 or any(c.isspace() for c in trace_id):
        raise InputError(f"{trace_id!r} does not look like a trace ID (pay-xxxxxxxx or 32 hex digits)")
    if grace_ms < 0:
        raise InputError("grace_ms must not be negative")
    files = discover(log_dir)
    if sum(p.stat().st_size for p in files) < PARALLEL_FROM:
        jobs = 1  # a fork costs more than reading a few megabytes
    needle = trace_id.encode()
    scans = fork_map(lambda p: search(p, needle), files, jobs)
    result = Correlation(trace_id, {trace_id}, str(log_dir), [s.service for s in scans], grace_ms=grace_ms)
    found = _Found(result.ids)
    for scan in scans:
        for _off, ln, line in scan.hits:
            if trace_id in line.ids:
                result.ids |= line.ids  # learn the other ID of the trace
                found.events.append(_event(scan, ln, line))
            else:
                found.suspects.append(_suspect(scan, ln, line, "mentions the trace ID but does not carry it"))
            if line.problem:
                found.warn(scan, ln, line)
    times = [e.timestamp for e in found.events if e.timestamp is not None]
    if times:
        found.t0, found.t1 = min(times), max(times) + dt.timedelta(milliseconds=grace_ms)
        result.window = (found.t0, found.t1)
        for scan, part in zip(scans, fork_map(lambda scan: _window_pass(scan, found), scans, jobs), strict=True):
            found.add(part)
            if part.full_scan:
                result.full_scans.append(str(scan.path))
    never = dt.datetime.max.replace(tzinfo=dt.UTC)
    result.events = sorted(found.events, key=lambda e: (e.timestamp or never, e.file, e.line))
    result.suspects = sorted(found.suspects, key=lambda s: (s.file, s.line))
    result.warnings, result.unparsed_lines = found.warnings, found.unparsed
    result.missing_services = sorted(set(result.services) - set(result.services_seen))
    result.unpaired_attempts = unpaired(result.events, ATTEMPT_OUTCOMES if pairs is None else pairs)
    return result


def _window_pass(scan: FileScan, window: _Found) -> _Found:
    """Pass 2 over one file: its lines in the trace's window (window.t0, window.t1), or the whole
    file when it is not in time order; what it found, in a _Found of its own."""
    found = window.window()
    with open(scan.path, "rb") as fh:
        if scan.ordered:
            begin = found.t0 - TOLERANCE
            k = max([i for i, (_o, _l, ts) in enumerate(scan.index) if ts is not None and ts < begin] or [0])
            lo, line_no, _ts = scan.index[k]
            hi = scan.index[k + 1][0] if k + 1 < len(scan.index) else os.path.getsize(scan.path)
            start = seek_time(fh, lo, hi, begin)
            line_no += count_lines(fh, lo, start)
            try:
                _examine(scan, fh, start, line_no, found.t1 + TOLERANCE, found)
                return found
            except _Disorder:
                found = window.window()  # then read the whole file
        found.full_scan = True
        _examine(scan, fh, 0, 0, None, found)
        return found


def unpaired(events: list[Event], pairs: Mapping[str, tuple[str, ...]] = ATTEMPT_OUTCOMES) -> list[Unpaired]:
    """Attempts not followed by one of their outcomes in the same service."""
    open_attempts: list[Event] = []
    for e in events:
        if e.event in pairs:
            open_attempts.append(e)
            continue
        for a in open_attempts:
            if a.service == e.service and e.event in pairs[a.event]:
                open_attempts.remove(a)
                break
    return [Unpaired(a.service, a.event, tuple(pairs[a.event]), a.timestamp, a.file, a.line)
            for a in open_attempts]
