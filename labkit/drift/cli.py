"""`labkit drift check`: 0 = no drift (and nothing unmanaged with --unmanaged), 2 = findings, 1 = error."""

from __future__ import annotations

import argparse
import json

DESCRIPTION = """\
Compare Terraform state files with the live security groups they manage, and optionally
list the groups no state file manages.

Input: Terraform state files (format version 4) holding security groups and their rules
(aws_security_group and aws_default_security_group with inline blocks,
aws_security_group_rule, aws_vpc_security_group_ingress_rule / _egress_rule); AWS
credentials allowed ec2:DescribeSecurityGroups. Reports: rules added or removed outside
Terraform, per group; managed groups that are gone; with --unmanaged, the groups in the
region (or --vpc-id) that no state file names, default groups, and the coverage; accepted
exceptions from --allow until they expire. Does not look at: any other resource type
(instances, NACLs, route tables, IAM), other regions, or your .tf files - what a plan would
change in the configuration is terraform plan's job. Exit 0: no drift; 2: findings; 1: bad
input or an AWS error."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `drift check`."""
    drift = sub.add_parser("drift", help="Lab 03: Terraform state vs live security groups")
    verbs = drift.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("check", help="rules added/removed outside Terraform; unmanaged groups; coverage",
                         description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
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


def run_check(args: argparse.Namespace) -> int:
    """Check, print the report or --json; the exit code."""
    from ..aws import AwsTarget
    from .fetch import check_drift
    from .report import render

    target = AwsTarget.at(args.endpoint_url, args.region, args.profile)
    report = check_drift(target.client("ec2"), args.state, unmanaged=args.unmanaged, vpc_id=args.vpc_id,
                         strict=args.strict, allowlist=args.allow)
    print(json.dumps(report.to_dict(), indent=2) if args.json else render(report))
    return 2 if report.has_findings else 0
