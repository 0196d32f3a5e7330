"""What correlating one trace found: its events, the suspects, unpaired attempts, warnings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


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
        """JSON-ready."""
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
        """JSON-ready; the text cut at 500 characters."""
        return {"service": self.service, "file": self.file, "line": self.line,
                "timestamp": self.timestamp.isoformat() if self.timestamp else None,
                "text": self.text[:500], "level": self.level, "reason": self.reason}


@dataclass
class LineWarning:
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
        """JSON-ready."""
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
    warnings: list[LineWarning] = field(default_factory=list)
    unparsed_lines: int = 0
    window: tuple[dt.datetime, dt.datetime] | None = None
    grace_ms: int = 0
    full_scans: list[str] = field(default_factory=list)

    @property
    def services_seen(self) -> list[str]:
        """Services with at least one event of the trace."""
        return sorted({e.service for e in self.events})

    @property
    def errors(self) -> list[Event]:
        """The trace's events logged at ERROR or worse."""
        return [e for e in self.events if e.level in ("ERROR", "CRITICAL", "FATAL")]

    @property
    def has_findings(self) -> bool:
        """A missing service, an unpaired attempt, a suspect or an error event."""
        return bool(self.missing_services or self.unpaired_attempts or self.suspects or self.errors)

    def to_dict(self) -> dict[str, Any]:
        """The `--json` output."""
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
