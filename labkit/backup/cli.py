"""`labkit backup verify`: 0 = it restores and every expectation holds, 2 = findings, 1 = error."""

from __future__ import annotations

import argparse
import json

DESCRIPTION = """\
Prove a PostgreSQL backup restores: find it, read it to the end, restore it into a throwaway
PostgreSQL (started here, always removed) and compare what came back with what you expect.

Input: SOURCE is a file, s3://bucket/key, or s3://bucket/prefix/ (the newest object under the
prefix); a custom-format (pg_dump -Fc) or plain SQL dump, gzip-compressed or not (told from the
content). Beside it, a manifest (SOURCE + ".manifest", one "schema.table<TAB>rows" line per
table, as the lab's backup.sh writes) is read when present: each table must come back with at
least those rows. Needs the PostgreSQL server binaries here; for S3, credentials allowed
s3:ListBucket and s3:GetObject. Reports: too_old (--max-age), unreadable (truncated, corrupt,
empty, not a dump), restore_failed, missing_table, too_few_rows, empty (no tables at all).
Does not look at: whether the rows are right (only that they are there), roles, grants and
ownership (restored with --no-owner --no-privileges), or any backup but the one it picked.
Exit 0: verified; 2: findings; 1: bad input or an environment error."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `backup verify`."""
    backup = sub.add_parser("backup", help="Lab 06: prove a backup restores")
    verbs = backup.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("verify", help="restore a backup into a throwaway PostgreSQL and check what came back",
                         description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", help="a file, s3://bucket/key, or s3://bucket/prefix/ (the newest object)")
    p.add_argument("--expect", action="append", metavar="TABLE=MIN_ROWS",
                   help="a table that must come back, with at least MIN_ROWS rows (schema.table or a "
                        "bare name in public); repeatable")
    p.add_argument("--max-age", metavar="DURATION", help="the oldest acceptable backup, e.g. 26h, 90m, 2d")
    p.add_argument("--endpoint-url", metavar="URL", help="an S3-compatible endpoint (e.g. the lab's moto server)")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--profile", help="AWS profile for real AWS")
    p.add_argument("--json", action="store_true", help="print a machine-readable result")
    p.set_defaults(func=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    """Verify, print the report or --json; the exit code."""
    from ..aws import AwsTarget
    from ..runtime import Run
    from .check import parse_duration, parse_expect
    from .report import render
    from .restore import Scratch
    from .verify import verify

    expectations = parse_expect(args.expect)
    max_age = parse_duration(args.max_age) if args.max_age else None
    s3 = None
    if args.source.startswith("s3://"):
        s3 = AwsTarget.at(args.endpoint_url, args.region, args.profile).client("s3")
    run = Run("backup-verify")
    try:
        report = verify(args.source, Scratch(run), s3=s3, expectations=expectations, max_age_seconds=max_age)
    finally:
        run.stop(keep=False)  # the restored copy is production data: never left behind
    print(json.dumps(report.to_dict(), indent=2) if args.json else render(report))
    return 2 if report.has_findings else 0
