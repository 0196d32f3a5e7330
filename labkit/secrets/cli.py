"""`labkit secrets verify|rotate`: against the running lab, or endpoints given as options.

The database is reached as its superuser by psql inside its pod (`--database-pod`,
default deploy/postgres), through the Kubernetes exec API: the superuser's password stays
in the pod, and nothing secret is on any command line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError
from .names import LAB_FILE, SECRET_ID

if TYPE_CHECKING:
    from .check import Target


DESCRIPTIONS = {
    "verify": """\
Ask every Ready pod of the app to open a new database connection with the credentials it
holds now, and report the pods that cannot.

Input: the app's Deployment (its pods answer GET /healthz/db on the app's port, through the
API server's pod proxy: pods/proxy get), the cluster's kubeconfig. Reports: each Ready pod,
ok or its reason, and whether the database refused the password. Does not look at: pods
that are not Ready (no Ready pod at all is a failure: no data is not healthy), connections
the pods already hold, what the Secrets Manager secret says. Exit 0: every pod connects;
2: a pod cannot; 1: bad input or the cluster unreachable.""",
    "rotate": """\
Rotate the database credential end to end and prove it before promoting it: AWSPENDING ->
the database -> the Kubernetes Secret -> a rolling restart -> verify every pod -> AWSCURRENT.

Input: the Secrets Manager secret (--secret-id), the database (psql as its superuser inside
--database-pod, through the exec API: no password on any command line), the Deployment and
its Secret. Reports: each step, timed, and the step that failed; on a failure nothing is
promoted and the database and Secret are put back where they can be. Does not look at:
other consumers of the same credential outside this Deployment. Exit 0: rotated and
verified; 2: a step failed (named); 1: bad input or the environment.""",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `secrets verify` and `secrets rotate`."""
    secrets = sub.add_parser("secrets", help="Lab 04: verify and rotate a database credential end to end")
    verbs = secrets.add_subparsers(dest="verb", required=True)
    for name, helptext in (("verify", "every Ready pod must open a database connection with its credentials"),
                           ("rotate", "AWSPENDING -> database -> Secret -> restart -> verify -> AWSCURRENT")):
        p = verbs.add_parser(name, help=helptext, description=DESCRIPTIONS[name],
                             formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--lab-dir", help="the lab's run directory (default: the newest running Lab 04)")
        p.add_argument("--endpoint-url", help="AWS-compatible endpoint (default: the lab's)")
        p.add_argument("--region")
        p.add_argument("--profile")
        p.add_argument("--kubeconfig")
        p.add_argument("--namespace")
        p.add_argument("--deployment")
        p.add_argument("--database-pod", help="the database's pod or deploy/NAME (default: deploy/postgres)")
        p.add_argument("--database", default="appdb", help="the database the app uses (default: appdb)")
        p.add_argument("--secret-id", default=SECRET_ID)
        p.add_argument("--timeout", type=float, default=60.0, help="rollout timeout in seconds")
        p.add_argument("--json", action="store_true")
        if name == "rotate":
            p.add_argument("--strategy", choices=["single", "alternating"], default="single",
                           help="single: one user, its password changes before the pods restart (AWSCURRENT "
                                "stops working from that step until the rotation finishes); alternating: "
                                "the idle user gets the new password, the old login keeps working")
        p.set_defaults(func=run_verb)


def _lab_info(lab_dir: str | None) -> dict:
    from ..cleanup import iter_runs

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
    """The rotation target from the options, or from the running lab's file."""
    from ..aws import AwsTarget
    from ..cluster import open_cluster
    from ..kube import psql
    from .check import Target

    info = _lab_info(args.lab_dir)
    endpoint = args.endpoint_url or (None if args.profile else info.get("endpoint_url"))
    region = args.region or info.get("region") or "us-east-1"
    aws = AwsTarget.at(endpoint, region, args.profile or info.get("profile"))
    kubeconfig = args.kubeconfig or info.get("kubeconfig")
    if not kubeconfig:
        raise InputError("no --kubeconfig given and no running Lab 04 found")
    cluster = open_cluster(None, "kubeconfig", kubeconfig)
    namespace = args.namespace or info.get("namespace") or "default"
    pod = args.database_pod or info.get("database") or "deploy/postgres"
    return Target(sm=aws.client("secretsmanager"), api_client=cluster.api_client,
                  db_admin=psql.admin(kubeconfig, args.database, pod, namespace),
                  secret_id=args.secret_id, namespace=namespace,
                  deployment=args.deployment or info.get("deployment") or "myapp", rollout_timeout=args.timeout)


def run_verb(args: argparse.Namespace) -> int:
    """Run verify or rotate, print the result or --json; the exit code."""
    from .act import rotate
    from .check import verify

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
