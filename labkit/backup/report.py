"""What `labkit backup verify` prints: the backup, what came back, the findings."""

from __future__ import annotations

from .check import BackupReport, describe_age


def render(report: BackupReport) -> str:
    """The report as text: one line about the backup, the restored tables, then each finding."""
    age = "age unknown" if report.backup_age_seconds is None else f"{describe_age(report.backup_age_seconds)} old"
    head = f"backup {report.source}: {age}"
    if report.restored:
        head += f", restored in {report.restore_seconds:.2f} s"
    lines = [head]
    width = max((len(t) for t in report.tables), default=0)
    lines += [f"  {table:<{width}}  {rows:>10,} rows" for table, rows in sorted(report.tables.items())]
    if report.findings:
        lines.append(f"FINDINGS ({len(report.findings)}):")
        lines += [f"  {f.kind}: {f.detail}" for f in report.findings]
    else:
        lines.append("verified: it restores, every expected table is there with its rows, and it is recent enough")
    return "\n".join(lines)
