"""The human-readable report of a correlation (what `labkit logs correlate` prints)."""

from __future__ import annotations

from .result import Correlation


def render(result: Correlation) -> str:
    """The human-readable report."""
    out = [f"trace {result.trace_id} (ids: {', '.join(sorted(result.ids))}) in {result.log_dir}"]
    t0 = result.events[0].timestamp if result.events and result.events[0].timestamp else None
    for e in result.events:
        offset = f"+{(e.timestamp - t0).total_seconds() * 1000:8.1f} ms" if t0 and e.timestamp else " " * 11
        out.append(f"  {offset}  {e.service:<15} {e.level:<5} {e.event}")
    out.append(f"services seen: {', '.join(result.services_seen) or '-'}")
    if result.missing_services:
        out.append(f"MISSING services (no event for this trace): {', '.join(result.missing_services)}")
    for u in result.unpaired_attempts:
        out.append(f"ATTEMPT WITHOUT OUTCOME: {u.service} {u.attempt} at {u.file}:{u.line} "
                   f"(expected one of: {', '.join(u.expected)})")
    for s in result.suspects:
        out.append(f"SUSPECT {s.file}:{s.line} [{s.reason}]: {s.text[:200]}")
    for e in result.errors:
        out.append(f"ERROR event: {e.service} {e.event} at {e.file}:{e.line}")
    if result.unparsed_lines:
        out.append(f"{result.unparsed_lines} examined lines were not JSON objects (see --json warnings)")
    if result.full_scans:
        out.append(f"not in time order, read in full: {', '.join(result.full_scans)}")
    out.append("findings" if result.has_findings else "complete and clean")
    return "\n".join(out)
