"""Lab 06's check, pure: what a restored backup must show, and the findings when it does not.

Data in (what the restore brought back, how old the backup is, what was expected), a
`BackupReport` out - no I/O, no clock: the caller measures the age.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import InputError

TOO_OLD, UNREADABLE, RESTORE_FAILED = "too_old", "unreadable", "restore_failed"
MISSING_TABLE, TOO_FEW_ROWS, EMPTY = "missing_table", "too_few_rows", "empty"
KINDS = (TOO_OLD, UNREADABLE, RESTORE_FAILED, MISSING_TABLE, TOO_FEW_ROWS, EMPTY)
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
ENDED_EARLY = ("could not read from input file", "end of file", "unexpected EOF")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a backup: its kind (one of KINDS), what was seen, and the table if any."""

    kind: str
    detail: str
    table: str | None = None


@dataclass
class Restored:
    """What a restore brought back: rows per table (schema.table), the restore's errors, its time."""

    tables: dict[str, int]
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class BackupReport:
    """The verdict on one backup, as `labkit backup verify --json` prints it."""

    source: str
    backup_age_seconds: float | None
    restored: bool
    restore_seconds: float | None
    tables: dict[str, int]
    findings: list[Finding]
    manifest: dict[str, int] | None = None  # the job's own counts, when it left them beside the backup

    @property
    def has_findings(self) -> bool:
        """True when anything is wrong (exit code 2)."""
        return bool(self.findings)

    @property
    def kinds(self) -> list[str]:
        """The findings' kinds, each once, in the order of KINDS."""
        seen = {f.kind for f in self.findings}
        return [k for k in KINDS if k in seen]

    def to_dict(self) -> dict[str, Any]:
        """The --json shape."""
        return {"source": self.source, "backup_age_seconds": self.backup_age_seconds, "restored": self.restored,
                "restore_seconds": self.restore_seconds, "tables": dict(self.tables),
                "findings": [{k: v for k, v in asdict(f).items() if v is not None} for f in self.findings]}


def table_name(name: str) -> str:
    """`schema.table` as given, or `public.table` for a bare name; refuses what is not a plain name."""
    name = name.strip()
    if not _NAME.match(name):
        raise InputError(f"not a table name: {name!r} (use table or schema.table)")
    return name if "." in name else f"public.{name}"


def parse_expect(items: list[str] | None) -> dict[str, int]:
    """--expect TABLE=MIN_ROWS (or just TABLE: it must be there) into {schema.table: min_rows}."""
    out: dict[str, int] = {}
    for item in items or []:
        name, sep, rows = item.partition("=")
        if sep and not rows.strip().isdigit():
            raise InputError(f"--expect {item!r}: MIN_ROWS must be a whole number (e.g. orders=1000)")
        out[table_name(name)] = int(rows) if sep else 0
    return out


def parse_duration(text: str) -> float:
    """'26h', '90m', '2d', '45s', '1.5d' into seconds."""
    m = _DURATION.match(text or "")
    if not m:
        raise InputError(f"not a duration: {text!r} (a number and a unit: 45s, 90m, 26h, 2d, 1w)")
    return float(m.group(1)) * UNITS[m.group(2)]


def parse_manifest(text: str) -> dict[str, int]:
    """The job's manifest - one `schema.table<TAB>rows` line per table it saw - into {table: rows}.
    Lines that are not that shape are skipped: the manifest is a hint, the restore is the evidence."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        name, sep, rows = line.strip().partition("\t")
        if sep and rows.strip().isdigit() and _NAME.match(name.strip()):
            out[table_name(name)] = int(rows)
    return out


def judge(source: str, restored: Restored | None, *, unreadable: str | None = None,
          age_seconds: float | None = None, max_age_seconds: float | None = None,
          expectations: dict[str, int] | None = None, manifest: dict[str, int] | None = None) -> BackupReport:
    """The findings for one backup.

    restored is None when the backup could not be read (then `unreadable` says why). The
    expected tables are the manifest's (at least the rows the job counted before it dumped)
    and the `expectations` (which win where both name a table).
    """
    findings: list[Finding] = []
    if max_age_seconds is not None and age_seconds is not None and age_seconds > max_age_seconds:
        findings.append(Finding(TOO_OLD, f"the newest backup is {describe_age(age_seconds)} old; "
                                         f"the limit is {describe_age(max_age_seconds)}"))
    if restored is None:
        findings.append(Finding(UNREADABLE, unreadable or "the backup could not be read"))
        return BackupReport(source, age_seconds, False, None, {}, findings, manifest)
    cut = [e for e in restored.errors if any(s in e for s in ENDED_EARLY)]
    if cut:  # the archive's TOC read, then the data stopped: the stream was cut short
        findings.append(Finding(UNREADABLE, f"truncated: {cut[0]}"))
    elif restored.errors:
        more = f" (and {len(restored.errors) - 1} more)" if len(restored.errors) > 1 else ""
        findings.append(Finding(RESTORE_FAILED, restored.errors[0] + more))
    if not restored.tables:
        findings.append(Finding(EMPTY, "the restore holds no tables at all"))
    wanted = {**(manifest or {}), **(expectations or {})}
    for table, least in sorted(wanted.items()):
        rows = restored.tables.get(table)
        if rows is None:
            findings.append(Finding(MISSING_TABLE, f"{table} is not in the restore", table))
        elif rows < least:
            whose = "expected" if table in (expectations or {}) else "the job counted"
            findings.append(Finding(TOO_FEW_ROWS, f"{table}: {rows} rows restored, {whose} at least {least}", table))
    return BackupReport(source, age_seconds, True, round(restored.seconds, 3), dict(restored.tables), findings,
                        manifest)


def describe_age(seconds: float) -> str:
    """An age people read: 45 s, 12 min, 5.2 h, 3.1 days."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
