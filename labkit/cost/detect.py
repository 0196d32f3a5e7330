"""Cost anomaly rules, vectorised over every service at once.

*Spike* (the original rule, kept for parity): a day is a spike when it exceeds the
mean of the previous ``baseline_days`` calendar days plus ``multiplier`` x their
sample standard deviation; skipped when that mean is below ``min_baseline`` or the
deviation cannot be computed.

*Level shift* (beyond the original): the median of the last ``shift_days`` days is
at least ``shift_ratio`` x the median of the ``shift_days`` before them, and the day itself
is still up there.  It reports a step that stays up - from the day it began (``since``) and
on every day it lasts - where the spike rule's baseline catches up after a day or two. Its
impact is the sustained excess per day (level - baseline); its percentage compares the
level with the baseline, the two amounts it shows.  Like any rolling baseline it goes quiet
once the step has lasted ``2 x shift_days`` days: by then the step *is* the baseline.

*New spend* (``new_spend=True``; the CLI's default, the notebook's exercise): a group that
stayed under the ``min_baseline`` floor for ``baseline_days`` days and then costs at least
the floor - reported from its first day and on every day it lasts.  The other two rules
cannot see it: their baselines are under the floor.

Drops are not reported: these rules look for spend that rises.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import InputError
from .data import DailyCosts, group_label

SPIKE = "spike"
LEVEL_SHIFT = "level_shift"
NEW_SPEND = "new_spend"


@dataclass(frozen=True)
class CostRules:
    """Thresholds of both rules, the impact floor and the reporting window."""

    baseline_days: int = 7
    multiplier: float = 2.0
    min_baseline: float = 0.01
    min_impact: float = 0.0
    level_shift: bool = True
    shift_days: int = 7
    shift_ratio: float = 1.5
    recent_days: int | None = None
    new_spend: bool = False

    def __post_init__(self) -> None:
        if self.baseline_days < 2:
            raise InputError("baseline_days must be at least 2 (a standard deviation needs two days)")
        if self.shift_days < 1:
            raise InputError("shift_days must be at least 1")
        if self.multiplier < 0 or self.shift_ratio <= 0 or self.min_impact < 0:
            raise InputError("multiplier, shift_ratio and min_impact must not be negative")
        if self.recent_days is not None and self.recent_days < 1:
            raise InputError("recent_days must be at least 1")

    def with_(self, **changes: Any) -> CostRules:
        """A copy with some thresholds changed (None values ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


@dataclass(frozen=True)
class Anomaly:
    """One finding: a group (a service) on a day, how far above its baseline, and what it cost."""

    service: str | None  # the SERVICE of the group, None when the grouping has no SERVICE
    date: dt.date
    actual: float  # the day's amount
    baseline_avg: float
    threshold: float
    pct_above: float | None  # spike: the day vs the baseline; level shift: the level; new spend: None
    impact: float
    kind: str
    estimated: bool
    since: dt.date | None = None
    group: dict[str, str] | None = None  # e.g. {"TAG:ProjectId": "(untagged)", "SERVICE": "AWS Lambda"}
    level: float | None = None  # level shift: the median per day since the step

    @property
    def label(self) -> str:
        """The group as text: the service name, or KEY=value / KEY=value."""
        return group_label(self.group or {"SERVICE": self.service or ""})

    def describe(self) -> str:
        """One line that a person reads: every percentage agrees with the amounts it names."""
        est = " (estimated)" if self.estimated else ""
        if self.kind == LEVEL_SHIFT:
            return (f"{self.kind:<11} {self.date} {self.label}: ${self.actual:.2f} that day, level ${self.level:.2f}/day "
                    f"since {self.since} vs baseline ${self.baseline_avg:.4f}/day (+{self.pct_above:.1f} %, "
                    f"impact ${self.impact:.2f}/day){est}")
        if self.kind == NEW_SPEND:
            return (f"{self.kind:<11} {self.date} {self.label}: ${self.actual:.2f}, new since {self.since} "
                    f"(under ${self.threshold:.2f}/day before; impact ${self.impact:.2f}){est}")
        return (f"{self.kind:<11} {self.date} {self.label}: ${self.actual:.2f} vs baseline ${self.baseline_avg:.4f} "
                f"(threshold ${self.threshold:.4f}, +{self.pct_above:.1f} %, impact ${self.impact:.2f}){est}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (dates as YYYY-MM-DD, money rounded to cents' hundredths)."""
        out = asdict(self)
        out["date"] = self.date.isoformat()
        out["since"] = self.since.isoformat() if self.since else None
        for key in ("actual", "baseline_avg", "threshold", "impact", "level"):
            out[key] = round(out[key], 4) if out[key] is not None else None
        out["pct_above"] = round(out["pct_above"], 1) if out["pct_above"] is not None else None
        return out


@dataclass
class Detection:
    """All findings of one run of the rules, ranked by dollar impact."""

    anomalies: list[Anomaly] = field(default_factory=list)
    days_judged: int = 0
    services: int = 0

    def of_kind(self, kind: str) -> list[Anomaly]:
        """The anomalies of one kind (spike, level_shift, new_spend)."""
        return [a for a in self.anomalies if a.kind == kind]


def spike_band(values: np.ndarray, rules: CostRules) -> tuple[np.ndarray, ...]:
    """Baseline mean, std, threshold and hit mask for every day x service."""
    n_days, n_svc = values.shape
    n = rules.baseline_days
    mean = np.full((n_days, n_svc), np.nan)
    std = np.full((n_days, n_svc), np.nan)
    if n_days > n:
        windows = sliding_window_view(values, n, axis=0)[:-1]  # window i ends the day before i+n
        mean[n:] = windows.mean(axis=2)
        std[n:] = windows.std(axis=2, ddof=1)
    threshold = mean + rules.multiplier * std
    with np.errstate(invalid="ignore"):
        hit = (values > threshold) & (mean >= rules.min_baseline) & np.isfinite(std)
        hit &= (values - mean) >= rules.min_impact
    return mean, std, threshold, hit


def _level_shifts(values: np.ndarray, rules: CostRules) -> tuple[np.ndarray, ...]:
    """Prior median, current median and hit mask for every day x service."""
    n_days, n_svc = values.shape
    k = rules.shift_days
    prior = np.full((n_days, n_svc), np.nan)
    level = np.full((n_days, n_svc), np.nan)
    if n_days >= 2 * k:
        medians = np.median(sliding_window_view(values, k, axis=0), axis=2)  # window ending at i+k-1
        level[k - 1 :] = medians
        prior[2 * k - 1 :] = medians[: n_days - 2 * k + 1]
    with np.errstate(invalid="ignore"):
        hit = (prior >= rules.min_baseline) & (level >= rules.shift_ratio * prior)
        hit &= (level - prior) >= rules.min_impact
    return prior, level, hit


def _new_spend(values: np.ndarray, rules: CostRules) -> np.ndarray:
    """Per day x group: the first day of a run of new spend the day belongs to, else -1."""
    out = np.full(values.shape, -1)
    floor, quiet = rules.min_baseline, rules.baseline_days
    for j in range(values.shape[1]):
        start = -1
        for i in range(values.shape[0]):
            if values[i, j] < floor:
                start = -1
            elif start >= 0 or (i >= quiet and (values[i - quiet:i, j] < floor).all()
                                and values[i, j] >= rules.min_impact):
                start = i if start < 0 else start
                out[i, j] = start
    return out


def detect(costs: DailyCosts, rules: CostRules | None = None, today: dt.date | None = None) -> Detection:
    """Run both rules over every service; days on or after today are never judged."""
    rules = rules or CostRules()
    if today is not None:
        costs = costs.until(today)
    values = costs.table.to_numpy(dtype=float)
    days, services = costs.days, costs.services
    estimated = costs.estimated.to_numpy(dtype=bool)
    found: list[Anomaly] = []
    if values.size == 0:
        return Detection([], 0, len(services))

    first_day = 0
    if rules.recent_days is not None:
        first_day = max(0, len(days) - rules.recent_days)

    groups = [costs.group(label) for label in services]

    def make(j: int, **fields: Any) -> Anomaly:
        return Anomaly(groups[j].get("SERVICE"), group=groups[j], **fields)

    new = _new_spend(values, rules) if rules.new_spend else np.full(values.shape, -1)
    mean, _std, threshold, hit = spike_band(values, rules)
    for i, j in zip(*np.nonzero(hit & (new < 0)), strict=True):
        if i < first_day:
            continue
        actual, base = values[i, j], mean[i, j]
        found.append(make(j, date=days[i], actual=actual, baseline_avg=base, threshold=threshold[i, j],
                          pct_above=(actual - base) / base * 100.0, impact=actual - base, kind=SPIKE,
                          estimated=bool(estimated[i])))

    if rules.level_shift:
        prior, level, shift = _level_shifts(values, rules)
        since: dict[int, int] = {}  # per group: the first day of the step being reported
        for i in range(values.shape[0]):
            for j in np.nonzero(shift[i])[0]:
                base = prior[i, j]
                if values[i, j] < rules.shift_ratio * base:
                    since.pop(j, None)  # the level is still up, the day is not: the step is over
                    continue
                if j not in since or i == 0 or not shift[i - 1, j]:
                    start = i  # walk back over the days of the current window that are up there
                    while start > i - rules.shift_days + 1 and values[start - 1, j] >= rules.shift_ratio * base:
                        start -= 1
                    since[j] = start
                if i < first_day:
                    continue
                found.append(make(j, date=days[i], actual=values[i, j], baseline_avg=base,
                                  threshold=rules.shift_ratio * base,
                                  pct_above=(level[i, j] - base) / base * 100.0, impact=level[i, j] - base,
                                  kind=LEVEL_SHIFT, estimated=bool(estimated[i]), since=days[since[j]],
                                  level=level[i, j]))

    for i, j in zip(*np.nonzero(new >= 0), strict=True):
        if i < first_day:
            continue
        found.append(make(j, date=days[i], actual=values[i, j], baseline_avg=0.0, threshold=rules.min_baseline,
                          pct_above=None, impact=values[i, j], kind=NEW_SPEND, estimated=bool(estimated[i]),
                          since=days[new[i, j]]))
    found.sort(key=lambda a: (-a.impact, a.date, a.label, a.kind))
    judged = max(0, len(days) - max(first_day, rules.baseline_days))
    return Detection(found, judged, len(services))


def original_rule_loop(costs: DailyCosts, baseline_days: int = 7, multiplier: float = 2.0,
                       min_baseline: float = 0.01) -> list[tuple[str, dt.date, float, float]]:
    """The original script's spike rule as a plain per-service, per-day loop (the baseline)."""
    out = []
    days = costs.days
    for service in costs.services:
        column = [float(v) for v in costs.table[service].tolist()]
        for i in range(baseline_days, len(column)):
            window = column[i - baseline_days : i]
            mean = sum(window) / baseline_days
            if mean < min_baseline:
                continue
            std = (sum((x - mean) ** 2 for x in window) / (baseline_days - 1)) ** 0.5
            threshold = mean + multiplier * std
            if column[i] > threshold:
                out.append((service, days[i], mean, threshold))
    return out
