"""Cost anomaly rules, vectorised over every service at once.

*Spike* (the original rule, kept for parity): a day is a spike when it exceeds the
mean of the previous ``baseline_days`` calendar days plus ``multiplier`` x their
sample standard deviation; skipped when that mean is below ``min_baseline`` or the
deviation cannot be computed.

*Level shift* (beyond the original): the median of the last ``shift_days`` days is
at least ``shift_ratio`` x the median of the ``shift_days`` before them.  It keeps
reporting a step that stays up, where the spike rule's baseline catches up after a
day or two.  Its impact is the sustained excess per day (level - baseline).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import InputError
from .data import DailyCosts

SPIKE = "spike"
LEVEL_SHIFT = "level_shift"


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
    """One finding: a service on a day, how far above its baseline, and what it cost."""

    service: str
    date: dt.date
    actual: float
    baseline_avg: float
    threshold: float
    pct_above: float
    impact: float
    kind: str
    estimated: bool
    since: dt.date | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (dates as YYYY-MM-DD, money rounded to cents' hundredths)."""
        out = asdict(self)
        out["date"] = self.date.isoformat()
        out["since"] = self.since.isoformat() if self.since else None
        for key in ("actual", "baseline_avg", "threshold", "impact"):
            out[key] = round(out[key], 4)
        out["pct_above"] = round(out["pct_above"], 1)
        return out


@dataclass
class Detection:
    """All findings of one run of the rules, ranked by dollar impact."""

    anomalies: list[Anomaly] = field(default_factory=list)
    days_judged: int = 0
    services: int = 0

    def of_kind(self, kind: str) -> list[Anomaly]:
        return [a for a in self.anomalies if a.kind == kind]


def _spikes(values: np.ndarray, rules: CostRules) -> tuple[np.ndarray, ...]:
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

    mean, _std, threshold, hit = _spikes(values, rules)
    for i, j in zip(*np.nonzero(hit), strict=True):
        if i < first_day:
            continue
        actual, base = values[i, j], mean[i, j]
        found.append(
            Anomaly(services[j], days[i], actual, base, threshold[i, j],
                    (actual - base) / base * 100.0, actual - base, SPIKE, bool(estimated[i]))
        )

    if rules.level_shift:
        prior, level, shift = _level_shifts(values, rules)
        # The first day of each run of consecutive hits: one past the last day without one.
        rows = np.arange(values.shape[0])[:, None]
        run_start = np.maximum.accumulate(np.where(shift, -1, rows), axis=0) + 1
        for i, j in zip(*np.nonzero(shift), strict=True):
            if i < first_day:
                continue
            base = prior[i, j]
            found.append(
                Anomaly(services[j], days[i], values[i, j], base, rules.shift_ratio * base,
                        (level[i, j] - base) / base * 100.0, level[i, j] - base,
                        LEVEL_SHIFT, bool(estimated[i]), since=days[run_start[i, j]])
            )
    found.sort(key=lambda a: (-a.impact, a.date, a.service, a.kind))
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
