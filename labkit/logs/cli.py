"""`labkit logs correlate`: 0 = complete and clean, 2 = findings, 1 = error."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:
    from .correlate import Correlation


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `logs correlate`."""
    logs = sub.add_parser("logs", help="Lab 02: correlate logs across services by trace ID")
    verbs = logs.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("correlate", help="timeline, missing services, unpaired attempts, suspects")
    p.add_argument("trace_id", help="the payment trace ID (pay-xxxxxxxx) or the 32-hex W3C trace ID")
    p.add_argument("--log-dir", help="directory of *.log files, one per service (default: the running lab's)")
    p.add_argument("--grace-ms", type=int, default=2000,
                   help="untraced lines up to this long after the trace's last event are suspects (default 2000)")
    p.add_argument("--json", action="store_true", help="print a machine-readable result")
    p.set_defaults(func=run_correlate)


def running_lab_logs() -> Path:
    """The service-logs directory of the newest Lab 02 run that is still active."""
    from ..runtime import iter_runs

    for run_dir, meta in sorted(iter_runs(), key=lambda r: r[0].stat().st_mtime, reverse=True):
        logs = run_dir / "service-logs"
        if not meta.get("stopped") and logs.is_dir() and any(logs.glob("*.log")):
            return logs
    raise InputError("no --log-dir given and no running Lab 02 found (start the notebook, or pass --log-dir)")


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


def run_correlate(args: argparse.Namespace) -> int:
    from .correlate import correlate

    log_dir = Path(args.log_dir) if args.log_dir else running_lab_logs()
    result = correlate(args.trace_id, log_dir, args.grace_ms)
    print(json.dumps(result.to_dict(), indent=2) if args.json else render(result), file=sys.stdout)
    return 2 if result.has_findings else 0
