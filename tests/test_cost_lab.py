"""Lab 01's notebook-facing functions: the naive signal, replay, and the exercise checker."""

from __future__ import annotations

import datetime as dt

from labkit.cost import budget_alert, check_new_spend, replay
from labkit.cost.sample import COMPUTE, DATABASE, sample_costs, step_start, with_spike, with_step
from labkit.exercises import load_solution

TODAY = dt.date(2026, 3, 15)


def lab_bill():
    costs = with_step(with_spike(sample_costs(TODAY)), DATABASE, 2.0, 9)
    last = costs.days[-1].isoformat()
    truth = [{"name": "spike", "service": COMPUTE, "start": last, "end": last},
             {"name": "step", "service": DATABASE, "start": step_start(costs, 9).isoformat(), "end": last}]
    return costs, truth


def test_when_one_service_jumps_15x_then_the_budget_alert_stays_silent():
    status = budget_alert(with_spike(sample_costs(TODAY)), 150.0)
    assert not status.fired and status.spend < 150


def test_when_replayed_with_default_thresholds_then_both_events_found_without_false_positives():
    costs, truth = lab_bill()
    result = replay(costs.to_records(), truth)
    assert result.detected == {"spike": True, "step": True}
    assert result.false_positives == 0 and result.days_to_detect == {"spike": 0, "step": 0}


def test_when_replayed_loose_then_false_positives_appear():
    costs, truth = lab_bill()
    result = replay(costs.to_records(), truth, multiplier=1.0, shift_ratio=1.1, min_impact=0.0)
    assert result.false_positives > 0


def test_when_replayed_with_a_floor_above_the_step_then_the_step_is_missed():
    costs, truth = lab_bill()
    result = replay(costs.to_records(), truth, min_impact=5.0)
    assert result.detected == {"spike": True, "step": False}
    assert result.days_to_detect["step"] is None


def test_when_the_exercise_is_not_solved_then_the_checker_says_false():
    assert check_new_spend(lambda table, floor: [], TODAY) is False


def test_when_the_learner_code_raises_then_the_checker_says_false_without_raising():
    def broken(table, floor):
        raise KeyError("oops")

    assert check_new_spend(broken, TODAY) is False


def test_when_the_solution_is_applied_then_the_checker_says_true():
    assert check_new_spend(load_solution("01-cost-anomalies", "new_spend"), TODAY) is True


def test_when_a_half_solution_ignores_the_floor_then_the_checker_says_false():
    def no_floor(table, floor):
        before = table.iloc[-8:-1]
        return sorted(table.columns[(before < 0.01).all() & (table.iloc[-1] > 0)])

    assert check_new_spend(no_floor, TODAY) is False


def test_the_check_cell_tells_a_crash_from_a_wrong_answer():
    from labkit.cost import new_spend_verdict
    from labkit.exercises import grade

    def broken(table, floor):
        raise KeyError("oops")

    crashed = grade(lambda: new_spend_verdict(broken, TODAY), "solved", "not yet")
    assert (crashed.passed, crashed.status) == (False, "crashed") and "KeyError" in crashed.detail
    wrong = grade(lambda: new_spend_verdict(lambda table, floor: [], TODAY), "solved", "not yet")
    assert (wrong.passed, wrong.status) == (False, "not yet") and "the answer is" in wrong.detail
    right = grade(lambda: new_spend_verdict(load_solution("01-cost-anomalies", "new_spend"), TODAY), "ok", "")
    assert (right.passed, right.status) == (True, "solved")
