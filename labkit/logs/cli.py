"""`labkit logs correlate`: 0 = complete and clean, 2 = findings, 1 = error."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import InputError

DESCRIPTION = """\
Build one trace's timeline from a directory of logs, one *.log file per service, and
report what the logs do not say on their own.

Input: JSON lines (one object per line with "timestamp", "service", "level", "event" and
"trace_id" and/or "w3c_trace_id"); plain-text lines with a leading timestamp are read too.
Reports: every event of the trace (by either ID); services with no event of it; attempts
no outcome followed in the same service (--pair; default: the lab's payment and e-mail
events); untraced lines inside the trace's time window plus --grace-ms (suspects); lines
that merely mention the ID; error events; lines that are not JSON (as warnings).
Does not look at: other traces, lines outside the window, metrics or spans, and files
not named *.log. Exit 0: complete and clean; 2: findings; 1: bad input."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `logs correlate`."""
    logs = sub.add_parser("logs", help="Lab 02: correlate logs across services by trace ID")
    verbs = logs.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("correlate", help="timeline, missing services, unpaired attempts, suspects",
                         description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("trace_id", help="the payment trace ID (pay-xxxxxxxx) or the 32-hex W3C trace ID")
    p.add_argument("--log-dir", help="directory of *.log files, one per service (default: the running lab's)")
    p.add_argument("--grace-ms", type=int, default=2000,
                   help="untraced lines up to this long after the trace's last event are suspects (default 2000)")
    p.add_argument("--pair", action="append", metavar="ATTEMPT=OUTCOME[,OUTCOME...]",
                   help="an event that must be answered by one of these later, in the same service; "
                        "repeatable; given at all, it replaces the lab's pairs (payment_request_received="
                        "payment_complete,payment_failed and email_send_attempt=email_queued,email_timeout,"
                        "email_failed)")
    p.add_argument("--jobs", type=int, default=0,
                   help="files read at once, each by a process of its own (default 0: one per core)")
    p.add_argument("--json", action="store_true", help="print a machine-readable result")
    p.set_defaults(func=run_correlate)


def running_lab_logs() -> Path:
    """The service-logs directory of the newest Lab 02 run that is still active."""
    from ..cleanup import iter_runs

    for run_dir, meta in sorted(iter_runs(), key=lambda r: r[0].stat().st_mtime, reverse=True):
        logs = run_dir / "service-logs"
        if not meta.get("stopped") and logs.is_dir() and any(logs.glob("*.log")):
            return logs
    raise InputError("no --log-dir given and no running Lab 02 found (start the notebook, or pass --log-dir)")


def run_correlate(args: argparse.Namespace) -> int:
    """Correlate, print the report or --json; the exit code."""
    from .correlate import correlate, parse_pair
    from .forkmap import cpus
    from .report import render

    if args.jobs < 0:
        raise InputError(f"--jobs must be 0 (one per core) or more, got {args.jobs}")
    pairs = dict(parse_pair(text) for text in args.pair) if args.pair else None
    log_dir = Path(args.log_dir) if args.log_dir else running_lab_logs()
    result = correlate(args.trace_id, log_dir, args.grace_ms, pairs, jobs=args.jobs or cpus())
    print(json.dumps(result.to_dict(), indent=2) if args.json else render(result), file=sys.stdout)
    return 2 if result.has_findings else 0
