"""`labkit canary watch`: 0 = watched for the duration without rollback, 2 = rolled back (or would
have, in dry run), 1 = error or stopped because the checks stayed inconclusive."""

from __future__ import annotations

import argparse
import json

from ..errors import InputError

DESCRIPTION = """\
Watch a canary in Prometheus every --interval for --duration, judge each check, count
strikes, and roll the Deployment back (kubectl rollout undo) when they run out.

Input: a Prometheus that scrapes the app with an "app" label, a counter
http_requests_total{status}, a histogram http_request_duration_seconds (and for the
inflight signal a gauge http_requests_in_flight); the cluster's kubeconfig unless
--dry-run. Reports: every check's values and verdict (healthy, breach, inconclusive), the
decision and when. No data, NaN or an unreachable Prometheus is inconclusive (or a failed
check with --on-no-data fail), never healthy. Does not look at: logs, traces, business
metrics, or whether the rollback fixed anything. Exit 0: watched without a rollback;
2: rolled back (or would have, with --dry-run); 1: bad input, or stopped because the checks
stayed inconclusive."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `canary watch`."""
    canary = sub.add_parser("canary", help="Lab 05: watch a canary in Prometheus, roll it back on the right signals")
    verbs = canary.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("watch", help="sample, judge, count strikes, roll back", description=DESCRIPTION,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--prometheus", required=True, metavar="URL")
    p.add_argument("--app", required=True, help="the canary's app label in Prometheus")
    p.add_argument("--deployment", help="deployment to roll back (default: the app name)")
    p.add_argument("--namespace", default="default")
    p.add_argument("--kubeconfig", help="kubeconfig of the cluster (needed unless --dry-run)")
    p.add_argument("--signals", default="errors,latency", help="comma list of errors, latency, inflight")
    p.add_argument("--error-threshold", type=float, default=0.05)
    p.add_argument("--latency-threshold", type=float, default=2.0, metavar="S")
    p.add_argument("--inflight-threshold", type=float, default=10.0)
    p.add_argument("--interval", type=float, default=15.0, metavar="S")
    p.add_argument("--window", default="1m", help="PromQL range, e.g. 10s, 1m")
    p.add_argument("--duration", type=float, default=300.0, metavar="S")
    p.add_argument("--policy", choices=["consecutive", "total"], default="consecutive")
    p.add_argument("--strikes", type=int, default=3)
    p.add_argument("--failure-limit", type=int, default=2)
    p.add_argument("--max-inconclusive", type=int, default=5)
    p.add_argument("--baseline-app", help="judge relative to this app (differences, not absolutes)")
    p.add_argument("--min-requests", type=float, default=0.0)
    p.add_argument("--on-no-data", choices=["hold", "fail"], default="hold",
                   help="hold: no data is inconclusive (stop after --max-inconclusive); fail: a failed check, as "
                        "Flagger and Argo Rollouts count it (a hung canary is rolled back)")
    p.add_argument("--dry-run", action="store_true", help="decide, but do not roll back")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_watch)


def run_watch(args: argparse.Namespace) -> int:
    """Watch, print each check (or --json at the end); the exit code."""
    from ..prometheus import Prometheus
    from .act import watch
    from .check import WatchConfig

    config = WatchConfig(name="watch", app=args.app, signals=tuple(s.strip() for s in args.signals.split(",") if s.strip()),
                         error_threshold=args.error_threshold, latency_threshold=args.latency_threshold,
                         inflight_threshold=args.inflight_threshold, policy=args.policy, strikes=args.strikes,
                         failure_limit=args.failure_limit, max_inconclusive=args.max_inconclusive,
                         baseline_app=args.baseline_app, min_requests=args.min_requests,
                         on_no_data=args.on_no_data, act=not args.dry_run)
    if args.interval <= 0 or args.duration <= 0:
        raise InputError("interval and duration must be positive")
    on_rollback = None
    undone: dict[str, int] = {}
    if not args.dry_run:
        if not args.kubeconfig:
            raise InputError("--kubeconfig is needed to roll back (or use --dry-run)")
        from ..cluster import open_cluster
        from ..kube import rollout

        api_client = open_cluster(None, "kubeconfig", args.kubeconfig).api_client

        def on_rollback(_judge) -> None:
            undone["revision"] = rollout.undo(api_client, args.deployment or args.app, args.namespace)

    url = args.prometheus.rstrip("/")
    prom = Prometheus(None, url, 0)  # type: ignore[arg-type]
    (judge,), _samples = watch(prom, [config], window=args.window, interval=args.interval,
                               duration=args.duration, on_rollback=on_rollback)
    result = judge.to_dict() | {"undone_to_revision": undone.get("revision")}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for ch in judge.checks:
            print(f"{ch.verdict:<12} strikes={ch.strikes} {'; '.join(ch.reasons)} {ch.action}")
        print(judge.message)
    if judge.decided == "stopped":
        return 1
    return 2 if judge.decided == "rollback" else 0
