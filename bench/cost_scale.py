"""Scale of the Lab 01 detector: 1,000 services x 365 days.

labkit's vectorised rules against the original rule written as a plain per-service,
per-day loop (the baseline), in the same run, on the same data. Prints both times,
the ratio, and whether the findings are the same.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from labkit.cost import CostRules, DailyCosts, detect
from labkit.cost.detect import original_rule_loop


def synthetic(services: int, days: int, seed: int = 7) -> DailyCosts:
    """Noisy daily costs with weekly seasonality, spikes, level shifts and missing ($0) days."""
    rng = np.random.default_rng(seed)
    level = rng.lognormal(0.0, 1.5, services)
    weekly = 1 + 0.15 * np.sin(np.arange(days) * 2 * np.pi / 7)[:, None]
    values = level * weekly * rng.normal(1.0, 0.08, (days, services)).clip(0.5)
    spikes = rng.random((days, services)) < 0.002
    values[spikes] *= rng.uniform(3, 15, spikes.sum())
    values[rng.random((days, services)) < 0.01] = 0.0
    for svc in rng.choice(services, max(1, services // 100), replace=False):  # 1 % step up and stay up
        values[rng.integers(days // 2, days - 10):, svc] *= 2.0
    index = pd.date_range("2025-01-01", periods=days, freq="D", name="date")
    table = pd.DataFrame(values.round(4), index=index, columns=[f"service-{i:04d}" for i in range(services)])
    return DailyCosts(table, pd.Series(False, index=index))


def timed(fn, repeat: int):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    costs = synthetic(args.services, args.days)
    rules = CostRules(level_shift=False)
    t_vec, found = timed(lambda: detect(costs, rules), args.repeat)
    t_loop, loop = timed(lambda: original_rule_loop(costs), 1)
    t_all, both = timed(lambda: detect(costs, CostRules()), args.repeat)
    vec = {(a.service, a.date) for a in found.anomalies}
    base = {(s, d) for s, d, _m, _t in loop}
    print(f"data: {args.services} services x {args.days} days = {args.services * args.days:,} cells")
    print(f"baseline  original rule, per-service per-day loop : {t_loop:8.3f} s  {len(base)} spikes")
    print(f"labkit    spike rule, vectorised                  : {t_vec:8.3f} s  {len(vec)} spikes")
    print(f"labkit    spike + level-shift rules               : {t_all:8.3f} s  {len(both.anomalies)} findings")
    print(f"ratio     baseline / labkit (spike rule)          : {t_loop / t_vec:8.1f}x")
    print(f"same findings: {vec == base}" + ("" if vec == base else f" (only loop: {len(base - vec)}, only labkit: {len(vec - base)})"))


if __name__ == "__main__":
    main()
