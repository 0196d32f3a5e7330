"""`labkit cost check`: the Lab 01 check as a CI gate (0 = none, 2 = findings, 1 = error)."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import InputError
from .metrics import METRIC, METRICS

DESCRIPTION = """\
Judge a daily cost series per group (service by default) and report the days that broke
from their own history.

Input: Cost Explorer's GetCostAndUsage at DAILY granularity - fetched grouped by SERVICE
(ce:GetCostAndUsage, --days of history, $0.01 a request), read from a saved response grouped
by any one dimension or tag (--input), or the lab's sample bill (--sample). Reports: spikes (a day above mean + K x stdev of the
--baseline-days before it), level shifts (a step that stays), new spend (a group that was
under $0.01/day), each with its $/day impact; --ack sets known levels aside until they
expire. Does not look at: drops in spend, today and later (incomplete days), forecasts,
budgets, credits or refunds as such, anything finer than the grouping (usage types,
accounts, tags you did not group by). Exit 0: no findings; 2: findings; 1: bad input or
an AWS error."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `cost check`."""
    cost = sub.add_parser("cost", help="Lab 01: cost anomaly detection")
    verbs = cost.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("check", help="find cost spikes and level shifts per service", description=DESCRIPTION,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--sample", action="store_true",
                     help="seed the lab's sample bill (with its spike) into an embedded endpoint and read it back")
    src.add_argument("--input", metavar="FILE",
                     help="a saved DAILY GetCostAndUsage response, a JSON list of its pages, or a bare ResultsByTime "
                          "list (read as grouped by SERVICE); GroupDefinitions name the groups")
    p.add_argument("--today", metavar="YYYY-MM-DD", help="pin 'today' (UTC); days from today on are never judged")
    p.add_argument("--days", type=int, default=30, help="days of history to read (default 30)")
    p.add_argument("--recent-days", type=int, metavar="N", help="only report findings in the last N days")
    p.add_argument("--multiplier", type=float, default=2.0, help="spike rule: mean + K x stdev (default 2)")
    p.add_argument("--baseline-days", type=int, default=7, help="spike rule baseline window (default 7)")
    p.add_argument("--min-impact", type=float, default=0.0, metavar="USD", help="ignore findings under this impact")
    p.add_argument("--no-level-shift", action="store_true", help="no level-shift rule")
    p.add_argument("--no-new-spend", action="store_true",
                   help="no new-spend rule (a group that was under $0.01/day, then is not); drops are never reported")
    p.add_argument("--metric", choices=METRICS, default=METRIC,
                   help="the cost metric (default UnblendedCost; AmortizedCost spreads upfront RI / Savings Plans fees)")
    p.add_argument("--endpoint-url", metavar="URL", help="an AWS-compatible endpoint (e.g. a moto server)")
    p.add_argument("--region", default="us-east-1", help="AWS region for credentials (Cost Explorer is us-east-1)")
    p.add_argument("--profile", help="AWS profile for real AWS")
    p.add_argument("--ack", metavar="FILE",
                   help="JSON list of acknowledged levels (group, level $/day, reason, expires): findings at or "
                        "under an acknowledged level are set aside until it expires; a further rise is reported")
    p.add_argument("--json", action="store_true", help="print a machine-readable result")
    p.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    """Load or fetch the bill, judge it, print, and return the exit code."""
    from ..aws import AwsTarget, EmbeddedAWS
    from ..jsonfile import read_json
    from ..runtime import Run
    from .acks import acknowledge, read_acks
    from .check import check
    from .detect import CostRules
    from .fetch import fetch_daily_costs
    from .lab import parse_today
    from .responses import load_input
    from .sample import responses, sample_costs, with_spike

    today = parse_today(args.today)
    acks = read_acks(read_json(args.ack, "acknowledgements")) if args.ack else []
    rules = CostRules(baseline_days=args.baseline_days, multiplier=args.multiplier,
                      min_impact=args.min_impact, recent_days=args.recent_days,
                      level_shift=not args.no_level_shift, new_spend=not args.no_new_spend)
    requests = 0
    source = ""
    if args.input:
        costs = load_input(args.input, args.metric).until(today)
        source = args.input
    elif args.sample:
        with Run("cost-cli") as run:
            endpoint = EmbeddedAWS(run).start()
            endpoint.seed_cost_and_usage(responses(with_spike(sample_costs(today, args.days))))
            fetched = fetch_daily_costs(endpoint.target(args.region), today, args.days, args.metric)
        costs, requests, source = fetched.costs, fetched.requests, "sample bill via embedded endpoint"
    else:
        target = AwsTarget.at(args.endpoint_url, args.region, args.profile)
        fetched = fetch_daily_costs(target, today, args.days, args.metric)
        costs, requests, source = fetched.costs, fetched.requests, target.describe()
    found = check(costs, rules, today)
    if found.days_judged == 0:  # no data is an error, never "no anomalies"
        raise InputError(f"nothing judged: {len(costs.days)} complete day(s) before {today}; the rules need at least "
                         f"{rules.baseline_days + 1} (a {rules.baseline_days}-day baseline and a day to judge)")
    grouping = costs.grouping.describe()
    reported, aside = acknowledge(found.anomalies, acks, today)
    if args.json:
        print(json.dumps({
            "anomalies": [a.to_dict() for a in reported],
            "acknowledged": [a.to_dict() | {"reason": k.reason, "expires": k.expires.isoformat()} for a, k in aside],
            "today": today.isoformat(),
            "days_judged": found.days_judged,
            "services": found.services,
            "grouping": grouping,
            "metric": args.metric,
            "requests": requests,
            "request_cost_usd": round(requests * 0.01, 2),
            "source": source,
        }, indent=2))
    else:
        print(f"{source}: {found.services} groups ({grouping}), {args.metric}, {found.days_judged} days judged, "
              f"{requests} Cost Explorer requests (${requests * 0.01:.2f})", file=sys.stderr)
        if not reported:
            print("no anomalies")
        for a in reported:
            print(a.describe())
        for a, k in aside:
            print(f"acknowledged until {k.expires} ({k.reason}): {a.describe()}")
    return 2 if reported else 0
