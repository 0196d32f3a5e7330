"""The lab's deterministic billing data (LABS.md, Lab 01) and its breaks.

Day d = 1..days ends yesterday.  Compute costs 1.10 + (d mod 3) x 0.10, storage
0.04 + (d mod 5) x 0.01, the database 0.85 + (d mod 4) x 0.05.  The breaks are pure
transformations of the table, so the same data can be seeded into the embedded
endpoint or judged directly.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from .data import DailyCosts, complete_days
from .responses import wide_to_results

COMPUTE = "Amazon Elastic Compute Cloud - Compute"
STORAGE = "Amazon Simple Storage Service"
DATABASE = "Amazon Relational Database Service"
SPIKE_AMOUNT = 18.50


def window(today: dt.date, days: int) -> tuple[dt.date, dt.date]:
    """The request period: Start inclusive, End exclusive (= today), so yesterday is last."""
    return today - dt.timedelta(days=days), today


def sample_costs(today: dt.date, days: int = 30) -> DailyCosts:
    """The healthy billing data: three services, no anomaly."""
    start, end = window(today, days)
    index = pd.date_range(start, periods=days, freq="D", name="date")
    d = pd.Series(range(1, days + 1), index=index)
    table = pd.DataFrame(
        {
            COMPUTE: 1.10 + (d % 3) * 0.10,
            STORAGE: 0.04 + (d % 5) * 0.01,
            DATABASE: 0.85 + (d % 4) * 0.05,
        }
    )
    # Days in the still-open billing month come back Estimated.
    est = pd.Series([x.year == today.year and x.month == today.month for x in index], index=index)
    return complete_days(table, est, start, end)


def _copy(costs: DailyCosts) -> DailyCosts:
    return DailyCosts(costs.table.copy(), costs.estimated.copy())


def _ensure(costs: DailyCosts, service: str) -> DailyCosts:
    """Add service as a $0 column if the bill does not have it yet."""
    if service not in costs.table.columns:
        costs.table[service] = 0.0
        costs.table = costs.table.reindex(sorted(costs.table.columns), axis=1)
    return costs


def with_spike(costs: DailyCosts, service: str = COMPUTE, amount: float = SPIKE_AMOUNT,
               day: dt.date | None = None) -> DailyCosts:
    """The forgotten test environment: one day of service costs amount (default: the last day)."""
    out = _ensure(_copy(costs), service)
    when = pd.Timestamp(day) if day else out.table.index[-1]
    out.table.loc[when, service] = amount
    return out


def with_step(costs: DailyCosts, service: str = DATABASE, extra: float = 2.0,
              days: int = 9) -> DailyCosts:
    """A step change: service costs extra dollars more per day for the last `days` days."""
    out = _ensure(_copy(costs), service)
    out.table.iloc[-days:, out.table.columns.get_loc(service)] += extra
    return out


def with_new_service(costs: DailyCosts, service: str, amount: float, days: int = 1) -> DailyCosts:
    """A service that never cost anything starts costing amount per day for the last `days` days."""
    out = _ensure(_copy(costs), service)
    out.table.iloc[-days:, out.table.columns.get_loc(service)] = amount
    return out


def step_start(costs: DailyCosts, days: int = 9) -> dt.date:
    """The first day of a with_step(..., days=days) break."""
    return costs.days[-days]


def responses(costs: DailyCosts, page_days: int = 10) -> list[dict]:
    """Full GetCostAndUsage responses, page_days days per page, chained by NextPageToken."""
    est = {d.date(): bool(v) for d, v in costs.estimated.items()}
    entries = wide_to_results(costs.table, est)
    pages = [entries[i : i + page_days] for i in range(0, len(entries), page_days)] or [[]]
    out = []
    for n, page in enumerate(pages, start=1):
        resp: dict = {"GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}],
                      "ResultsByTime": page, "DimensionValueAttributes": []}
        if n < len(pages):
            resp["NextPageToken"] = f"page-{n + 1}"
        out.append(resp)
    return out
