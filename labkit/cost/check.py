"""Lab 01's checks, pure: a daily cost table in, a typed result out (no AWS, no clock).

`check` judges each group's series with the rules of labkit.cost.detect; `budget_alert` is
the naive signal the lab contrasts it with - the month's total against a budget.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..errors import LabkitError
from .data import DailyCosts
from .detect import CostRules, Detection, detect


@dataclass(frozen=True)
class BudgetStatus:
    """What a monthly budget alert sees: the total, not the shape."""

    spend: float
    budget: float
    fired: bool


def budget_alert(costs: DailyCosts, monthly_budget: float) -> BudgetStatus:
    """The naive signal: total spend over the window against a monthly budget."""
    spend = float(costs.table.to_numpy().sum())
    return BudgetStatus(round(spend, 2), monthly_budget, spend >= monthly_budget)


def check(costs: DailyCosts, rules: CostRules | None = None, today: dt.date | None = None) -> Detection:
    """The lab's check; no data at all is an error, never 'no anomalies'."""
    if not costs.services:
        raise LabkitError("Cost Explorer returned no cost data for the period: nothing was judged")
    return detect(costs, rules, today)
