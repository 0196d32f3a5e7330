"""The cost rules on data built in the tests: parity, level shifts, missing days, floors."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from labkit.cost import LEVEL_SHIFT, SPIKE, CostRules, DailyCosts, detect, parse_results
from labkit.cost.detect import original_rule_loop
from labkit.cost.sample import (
    COMPUTE,
    DATABASE,
    sample_costs,
    step_start,
    with_new_service,
    with_spike,
    with_step,
)
from labkit.errors import InputError

TODAY = dt.date(2026, 3, 15)
YESTERDAY = TODAY - dt.timedelta(days=1)


def costs_of(series: dict[str, list[float]], last: dt.date = YESTERDAY) -> DailyCosts:
    n = len(next(iter(series.values())))
    index = pd.date_range(end=pd.Timestamp(last), periods=n, freq="D", name="date")
    table = pd.DataFrame(series, index=index)
    return DailyCosts(table, pd.Series(False, index=index))


def test_when_sample_has_the_spike_then_exactly_the_compute_line_on_yesterday_is_flagged():
    found = detect(with_spike(sample_costs(TODAY)), CostRules(level_shift=False), TODAY)
    assert len(found.anomalies) == 1
    spike = found.anomalies[0]
    assert (spike.service, spike.date, spike.kind) == (COMPUTE, YESTERDAY, SPIKE)
    assert round(spike.baseline_avg, 4) == 1.2143
    assert round(spike.threshold, 4) == 1.3942
    assert round(spike.pct_above, 1) == 1423.5
    assert spike.impact == pytest.approx(18.50 - 8.5 / 7)


def test_when_sample_is_healthy_then_no_rule_finds_anything():
    assert detect(sample_costs(TODAY), CostRules(), TODAY).anomalies == []


def test_when_vectorised_then_it_matches_the_original_loop():
    costs = with_step(with_spike(sample_costs(TODAY, 60)), DATABASE, 2.0, 20)
    loop = {(s, d) for s, d, _m, _t in original_rule_loop(costs)}
    vec = {(a.service, a.date) for a in detect(costs, CostRules(level_shift=False)).anomalies}
    assert vec == loop and loop


def test_when_cost_steps_up_then_original_flags_the_start_and_level_shift_flags_it_throughout():
    costs = with_step(sample_costs(TODAY), DATABASE, extra=2.0, days=9)
    start = step_start(costs, 9)
    found = detect(costs, CostRules(), TODAY)
    spikes = sorted(a.date for a in found.of_kind(SPIKE) if a.service == DATABASE)
    shifts = sorted(a.date for a in found.of_kind(LEVEL_SHIFT) if a.service == DATABASE)
    assert spikes and spikes[0] == start and len(spikes) <= 2
    assert spikes[-1] < YESTERDAY - dt.timedelta(days=3)  # the spike rule has gone quiet
    assert shifts[-1] == YESTERDAY
    # one finding per day from when the median moved until yesterday, no gaps
    assert shifts == [shifts[0] + dt.timedelta(days=i) for i in range(len(shifts))]
    # reported from the day the median moved, each finding naming the day the step began
    assert {a.since for a in found.of_kind(LEVEL_SHIFT)} == {start} and start < shifts[0]


def test_when_a_service_has_missing_days_then_they_count_as_zero_dollars():
    # Day 8 has no group for the service: Cost Explorer omits zero-cost services.
    entries = []
    start = dt.date(2026, 3, 1)
    for i in range(9):
        day = start + dt.timedelta(days=i)
        amount = None if i == 7 else (5.0 if i == 8 else 1.0 + 0.1 * (i % 2))
        groups = [] if amount is None else [
            {"Keys": ["svc"], "Metrics": {"UnblendedCost": {"Amount": str(amount), "Unit": "USD"}}}
        ]
        entries.append({"TimePeriod": {"Start": day.isoformat(), "End": (day + dt.timedelta(days=1)).isoformat()},
                        "Groups": groups})
    costs = parse_results(entries, start, start + dt.timedelta(days=9))
    assert costs.table["svc"].iloc[7] == 0.0
    found = detect(costs, CostRules(level_shift=False))
    # the window for day 9 is the 7 calendar days before it, including the $0 day
    window = [1.0 + 0.1 * (i % 2) for i in range(1, 7)] + [0.0]
    assert [round(a.baseline_avg, 6) for a in found.anomalies] == [round(sum(window) / 7, 6)]


def test_when_the_impact_floor_is_above_the_finding_then_it_is_dropped():
    costs = costs_of({"small": [1.0, 1.1, 1.0, 1.1, 1.0, 1.1, 1.0, 1.6]})
    assert len(detect(costs, CostRules(level_shift=False, min_impact=0.5)).anomalies) == 1
    assert detect(costs, CostRules(level_shift=False, min_impact=0.61)).anomalies == []


def test_when_findings_are_ranked_then_the_largest_dollar_impact_comes_first():
    costs = costs_of({"a": [1.0, 1.1] * 4 + [3.0], "b": [1.0, 1.1] * 4 + [30.0]})
    found = detect(costs, CostRules(level_shift=False))
    assert [a.service for a in found.anomalies] == ["b", "a"]


def test_when_today_is_pinned_then_today_and_later_are_never_judged():
    costs = costs_of({"svc": [1.0, 1.1] * 4 + [1.0, 50.0]}, last=TODAY)  # 50 lands on "today"
    assert detect(costs, CostRules(level_shift=False), TODAY).anomalies == []
    assert len(detect(costs, CostRules(level_shift=False), TODAY + dt.timedelta(days=1)).anomalies) == 1


def test_when_recent_days_is_set_then_older_findings_are_left_out():
    costs = with_step(sample_costs(TODAY), DATABASE, 2.0, 9)
    recent = detect(costs, CostRules(recent_days=2), TODAY).anomalies
    assert recent and all(a.date >= YESTERDAY - dt.timedelta(days=1) for a in recent)


def test_when_a_day_is_estimated_then_its_finding_says_so():
    costs = with_spike(sample_costs(dt.date(2026, 3, 1)))  # yesterday = Feb 28, a closed month
    assert detect(costs, CostRules()).anomalies[0].estimated is False
    costs = with_spike(sample_costs(TODAY))
    assert detect(costs, CostRules()).anomalies[0].estimated is True


def test_when_the_baseline_is_below_a_cent_then_the_original_rule_skips_the_service():
    costs = with_new_service(sample_costs(TODAY), "Amazon SageMaker", 25.0)
    assert [a for a in detect(costs, CostRules()).anomalies if a.service == "Amazon SageMaker"] == []


def test_when_there_are_fewer_days_than_the_baseline_then_nothing_is_judged():
    found = detect(costs_of({"svc": [1.0, 9.0, 1.0]}), CostRules())
    assert found.anomalies == [] and found.days_judged == 0


@pytest.mark.parametrize("bad", [{"baseline_days": 1}, {"multiplier": -1}, {"min_impact": -0.1},
                                 {"recent_days": 0}, {"shift_ratio": 0}])
def test_when_rules_are_invalid_then_input_error(bad):
    with pytest.raises(InputError):
        CostRules(**bad)
