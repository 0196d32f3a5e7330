"""`labkit secrets verify|rotate`: against the running lab, or endpoints given as options.

The database superuser DSN comes from $LABKIT_DB_DSN (no password in it); libpq finds
the password in $PGPASSFILE / ~/.pgpass or $PGPASSWORD - never on the command line.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from ..aws import AwsTarget
from ..errors import InputError
from ..runtime import iter_runs
from .check import SECRET_ID, Target, rotate, verify
from .lab import LAB_FILE


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `secrets verify` and `secrets rotate`."""
    secrets = sub.add_parser("secrets", help="Lab 04: verify and rotate a database credential end to end")
    verbs = secrets.add_subparsers(dest="verb", required=True)
    for name, helptext in (("verify", "every Ready pod must open a database connection with its credentials"),
                           ("rotate", "AWSPENDING -> database -> Secret -> restart -> verify -> AWSCURRENT")):
        p = verbs.add_parser(name, help=helptext)
        p.add_argument("--lab-dir", help="the lab's run directory (default: the newest running Lab 04)")
        p.add_argument("--endpoint-url", help="AWS-compatible endpoint (default: the lab's)")
        p.add_argument("--region")
        p.add_argument("--profile")
        p.add_argument("--kubeconfig")
        p.add_argument("--namespace")
        p.add_argument("--deployment")
        p.add_argument("--secret-id", default=SECRET_ID)
        p.add_argument("--timeout", type=float, default=60.0, help="rollout timeout in seconds")
        p.add_argument("--json", action="store_true")
        if name == "rotate":
            p.add_argument("--strategy", choices=["single", "alternating"], default="single")
        p.set_defaults(func=run_verb)


def _lab_info(lab_dir: str | None) -> dict:
    if lab_dir:
        path = Path(lab_dir) / LAB_FILE
        if not path.exists():
            raise InputError(f"{lab_dir}: not a Lab 04 run directory (no {LAB_FILE})")
        return json.loads(path.read_text())
    for run_dir, meta in sorted(iter_runs(), key=lambda r: r[0].stat().st_mtime, reverse=True):
        if not meta.get("stopped") and (run_dir / LAB_FILE).exists():
            return json.loads((run_dir / LAB_FILE).read_text())
    return {}


def build_target(args: argparse.Namespace) -> Target:
    import psycopg
    from kubernetes import config as kube_config

    info = _lab_info(args.lab_dir)
    endpoint = args.endpoint_url or (None if args.profile else info.get("endpoint_url"))
    region = args.region or info.get("region") or "us-east-1"
    aws = AwsTarget("local" if endpoint else "aws", endpoint, region, args.profile or info.get("profile"))
    kubeconfig = args.kubeconfig or info.get("kubeconfig")
    if not kubeconfig:
        raise InputError("no --kubeconfig given and no running Lab 04 found")
    try:
        api_client = kube_config.new_client_from_config(config_file=kubeconfig)
    except Exception as err:
        raise InputError(f"cannot load kubeconfig {kubeconfig}: {err}") from None
    dsn = os.environ.get("LABKIT_DB_DSN") or info.get("db_dsn")
    if dsn and "password" in dsn.lower():
        raise InputError("LABKIT_DB_DSN must not contain a password: use PGPASSFILE or ~/.pgpass")
    if not dsn and args.verb == "rotate":
        raise InputError("set LABKIT_DB_DSN (a DSN without password; the password comes from PGPASSFILE)")
    passfile = os.environ.get("PGPASSFILE") or info.get("pgpass")
    extra = {"passfile": passfile} if passfile else {}
    return Target(sm=aws.client("secretsmanager"), api_client=api_client,
                  db_admin=lambda: psycopg.connect(dsn, autocommit=True, connect_timeout=5, **extra),
                  secret_id=args.secret_id, namespace=args.namespace or info.get("namespace") or "default",
                  deployment=args.deployment or info.get("deployment") or "myapp", rollout_timeout=args.timeout)


def run_verb(args: argparse.Namespace) -> int:
    target = build_target(args)
    if args.verb == "verify":
        result = verify(target)
        if args.json:
            print(json.dumps(result.to_dict(), indent=2))
        else:
            for c in result.checks:
                print(f"{c.pod}: {'ok' if c.ok else 'FAILED: ' + c.reason}")
        return 0 if result.ok else 2
    rotation = rotate(target, args.strategy)
    if args.json:
        print(json.dumps(rotation.to_dict(), indent=2))
    else:
        for s in rotation.steps:
            print(f"{'ok' if s.ok else 'FAILED':<6} {s.name:<18} {s.seconds:6.2f} s  {s.detail}")
        print(("rotated and verified: " if rotation.ok else "") + rotation.recovery)
    return rotation.exit_code
