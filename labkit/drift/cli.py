"""`labkit drift check`: 0 = no drift (and nothing unmanaged with --unmanaged), 2 = findings, 1 = error."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .check import DriftReport


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `drift check`."""
    drift = sub.add_parser("drift", help="Lab 03: Terraform state vs live security groups")
    verbs = drift.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("check", help="rules added/removed outside Terraform; unmanaged groups; coverage")
    p.add_argument("state", nargs="+", help="Terraform state files (format version 4)")
    p.add_argument("--endpoint-url", metavar="URL", help="an AWS-compatible endpoint (e.g. the lab's moto server)")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--profile", help="AWS profile for real AWS")
    p.add_argument("--vpc-id", help="limit the unmanaged scan to one VPC")
    p.add_argument("--unmanaged", action="store_true", help="also list groups no state file manages")
    p.add_argument("--strict", action="store_true", help="count unmanaged default groups as unmanaged")
    p.add_argument("--allow", metavar="FILE", help="JSON list of accepted exceptions (group, rule, reason, expires)")
    p.add_argument("--json", action="store_true", help="print a machine-readable result")
    p.set_defaults(func=run_check)


def render(report: DriftReport) -> str:
    """The human-readable report."""
    out = []
    for g in report.groups:
        out.append(f"{g.id} ({g.name or '?'}; {', '.join(g.addresses)}): {g.status}")
        out += [f"    + {r}   (added outside Terraform)" for r in g.added]
        out += [f"    - {r}   (removed outside Terraform)" for r in g.removed]
        out += [f"    ~ {a['direction']} {a['protocol']} {a['from_port']} from {a['source']}   "
                f"(accepted until {a['expires']}: {a['reason']})" for a in g.accepted]
    if report.unmanaged is not None:
        for u in report.unmanaged:
            out.append(f"UNMANAGED {u['id']} ({u['name']}, {u['vpc_id']}): {u['rules']} rules, in no state file")
        for d in report.default_groups:
            out.append(f"default group {d['id']} ({d['vpc_id']}){' managed' if d['managed'] else ''}")
        if report.coverage:
            c = report.coverage
            out.append(f"coverage: {c['managed']}/{c['total']} groups managed by Terraform")
    out.append("findings" if report.has_findings else "no drift")
    return "\n".join(out)


def run_check(args: argparse.Namespace) -> int:
    from ..aws import AwsTarget
    from .check import check_drift

    backend = "local" if args.endpoint_url else "aws"
    target = AwsTarget(backend, args.endpoint_url, args.region, args.profile)
    report = check_drift(target.client("ec2"), args.state, unmanaged=args.unmanaged, vpc_id=args.vpc_id,
                         strict=args.strict, allowlist=args.allow)
    print(json.dumps(report.to_dict(), indent=2) if args.json else render(report))
    return 2 if report.has_findings else 0
