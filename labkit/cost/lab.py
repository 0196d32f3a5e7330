"""Lab 01 as functions the notebook calls: set up, seed, check, replay, exercise."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..aws import AwsTarget, EmbeddedAWS, open_backend
from ..errors import InputError, LabkitError
from ..runtime import Run
from .data import DailyCosts
from .detect import CostRules, Detection, detect
from .fetch import Fetched, fetch_daily_costs
from .sample import COMPUTE, DATABASE, responses, sample_costs, with_new_service, with_step


def utc_today() -> dt.date:
    """Today in UTC: Cost Explorer's days are UTC days."""
    return dt.datetime.now(dt.UTC).date()


def parse_today(value: str | dt.date | None) -> dt.date:
    """A pinned 'today' (YYYY-MM-DD) or the real UTC date."""
    if value is None or value == "":
        return utc_today()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"today must be YYYY-MM-DD, got {value!r}") from None


@dataclass
class CostLab:
    """The running lab: where Cost Explorer calls go and which days are read."""

    target: AwsTarget
    today: dt.date
    days: int
    endpoint: EmbeddedAWS | None = None
    page_days: int = 10
    simulated: bool = False  # True on real AWS: breaks are applied to a copy, not the bill
    _injected: DailyCosts | None = field(default=None, repr=False)

    def publish(self, costs: DailyCosts) -> None:
        """Make costs what Cost Explorer returns: seed the embedded endpoint (local only)."""
        if self.endpoint is None:
            self._injected = costs  # a real bill cannot be edited: judge the copy instead
            return
        self.endpoint.reset()  # moto caches answers per request: forget the old bill
        self.endpoint.seed_cost_and_usage(responses(costs, self.page_days))

    def fetch(self) -> Fetched:
        """Read the bill back through boto3, exactly as against AWS."""
        fetched = fetch_daily_costs(self.target, self.today, self.days)
        if self._injected is not None:
            fetched.costs = self._injected
        return fetched


def start_lab(run: Run, backend: str = "local", today: str | dt.date | None = None, days: int = 30,
              profile: str | None = None, region: str = "us-east-1", page_days: int = 10) -> CostLab:
    """Start the embedded endpoint (local) or point at real AWS; seed the healthy bill locally."""
    pinned = parse_today(today)
    if days < 15:
        raise InputError("days must be at least 15 (7 baseline days + 7 level-shift days + 1)")
    target, endpoint = open_backend(run, backend, region, profile)  # read-only: no opt-in needed
    lab = CostLab(target, pinned, days, endpoint, page_days, simulated=endpoint is None)
    if endpoint is not None:
        lab.publish(sample_costs(pinned, days))
    return lab


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


@dataclass
class ReplayResult:
    """How a set of thresholds does on recorded data with known injected events."""

    findings: int
    true_positives: int
    false_positives: int
    detected: dict[str, bool]
    days_to_detect: dict[str, int | None]


def replay(records: list[dict[str, Any]], truth: list[dict[str, Any]], **thresholds: Any) -> ReplayResult:
    """Re-run the detector on recorded daily costs with other thresholds.

    truth lists the injected events as {"name", "service", "start", "end"} (ISO dates);
    a finding inside an event's service and dates is a true positive.
    """
    rules = CostRules().with_(**thresholds)
    found = detect(DailyCosts.from_records(records), rules).anomalies
    events = [
        (e["name"], e["service"], dt.date.fromisoformat(e["start"]), dt.date.fromisoformat(e["end"]))
        for e in truth
    ]
    tp = 0
    first: dict[str, dt.date] = {}
    for a in found:
        hits = [name for name, svc, s, e in events if a.service == svc and s <= a.date <= e]
        tp += bool(hits)
        for name in hits:
            first[name] = min(first.get(name, a.date), a.date)
    start = {name: s for name, _, s, _ in events}
    return ReplayResult(
        findings=len(found),
        true_positives=tp,
        false_positives=len(found) - tp,
        detected={name: name in first for name in start},
        days_to_detect={name: (first[name] - start[name]).days if name in first else None for name in start},
    )


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


def findings_table(found: Detection) -> pd.DataFrame:
    """The findings as a table, ranked by dollar impact (what the notebook shows)."""
    rows = [a.to_dict() for a in found.anomalies]
    columns = ["kind", "service", "date", "actual", "baseline_avg", "threshold", "pct_above", "impact",
               "estimated", "since"]
    return pd.DataFrame(rows, columns=columns)
