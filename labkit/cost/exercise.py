"""Lab 01's exercise checks: the learner's new-spend rule and acknowledgements, on known cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd

from .check import check
from .data import DailyCosts
from .detect import CostRules
from .lab import utc_today
from .sample import COMPUTE, DATABASE, sample_costs, with_new_service, with_step

NEW_SERVICE = "Amazon SageMaker"


def exercise_cases(today: dt.date) -> list[tuple[pd.DataFrame, float, set[str]]]:
    """Cases for new_spend(table, min_impact): (daily table, floor, services expected)."""
    base = sample_costs(today, 30)
    brand_new = with_new_service(base, NEW_SERVICE, 25.0)
    tiny = with_new_service(brand_new, "AWS Key Management Service", 0.004)
    since_last_week = with_new_service(tiny, "Amazon CloudWatch", 3.0, days=9)
    stopped = with_new_service(since_last_week, "AWS Glue", 0.0)
    stopped.table.iloc[:-3, stopped.table.columns.get_loc("AWS Glue")] = 4.0
    return [
        (base.table, 1.0, set()),
        (brand_new.table, 1.0, {NEW_SERVICE}),
        (stopped.table, 1.0, {NEW_SERVICE}),
        (stopped.table, 30.0, set()),
        (with_new_service(base, COMPUTE, 0.0).table, 1.0, set()),
    ]


def new_spend_verdict(new_spend: Callable[..., Any], today: dt.date | None = None) -> tuple[bool, str]:
    """The exercise's check: (passed, the first case it gets wrong). The learner's exception is a
    LearnerCrash (labkit.exercises.grade shows it as a crash, not as a wrong answer)."""
    from ..exercises import learner

    for table, floor, expected in exercise_cases(today or utc_today()):
        got = set(learner(new_spend, table.copy(), floor) or [])
        if got != expected:
            return False, (f"with a ${floor:g} floor the answer is {sorted(expected) or 'no service'}, "
                           f"yours is {sorted(got) or 'no service'}")
    return True, ""


def check_new_spend(new_spend: Callable[..., Any], today: dt.date | None = None) -> bool:
    """True only if new_spend gives the expected services on every case; never raises."""
    from ..exercises import grade

    return grade(lambda: new_spend_verdict(new_spend, today), "", "").passed


def ack_verdict(entries: Any, costs: DailyCosts, rules: CostRules, today: dt.date) -> tuple[bool, str]:
    """The acknowledgement exercise's check on the lab's bill (the spike and the database step):
    the step is set aside, the spike is still reported, and a further rise of the database on the
    last two days is reported again. (passed, what is wrong); invalid entries are the learner's crash."""
    from ..exercises import learner
    from .acks import acknowledge, read_acks

    acks = learner(read_acks, entries, today)
    if not acks:
        return False, "nothing acknowledged: the database step is still reported every day"
    if any(k.expires < today for k in acks):
        return False, "an acknowledgement that has already expired sets nothing aside"
    kept, _ = acknowledge(check(costs, rules, today).anomalies, acks, today)
    services = {a.service for a in kept}
    if DATABASE in services:
        return False, (f"the database step is still reported ({sum(a.service == DATABASE for a in kept)} "
                       "findings): acknowledge the level it runs at now")
    if COMPUTE not in services:
        return False, "the EC2 spike is no longer reported: an acknowledgement must not hide other changes"
    rise = with_step(costs, DATABASE, extra=3.0, days=2)
    kept_rise, _ = acknowledge(check(rise, rules, today).anomalies, acks, today)
    if not any(a.service == DATABASE for a in kept_rise):
        return False, ("a further $3/day rise of the database is hidden too: acknowledge the level, "
                       "not the whole service")
    return True, ""
