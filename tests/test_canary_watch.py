"""The canary judge on samples built in the tests: strikes, policies, inconclusive, dry run, replay."""

from __future__ import annotations

import math

import pytest

from labkit.canary.check import Judge, WatchConfig, judge_samples
from labkit.canary.fetch import queries
from labkit.canary.replay import replay
from labkit.errors import InputError

APP = "myapp-canary"


def s(t, err=0.0, p99=0.05, requests=50.0, inflight=0.0, **extra):
    return {"t": float(t), f"{APP}:error_rate": err, f"{APP}:p99": p99, f"{APP}:requests": requests,
            f"{APP}:inflight": inflight, **extra}


def verdicts(config, samples):
    judge = Judge(config)
    return [judge.judge(x).verdict for x in samples], judge


def test_the_error_query_keeps_or_vector_0_on_the_numerator():
    q = queries(APP, "10s")["error_rate"]
    assert 'status=~"5.."' in q and "or vector(0)) / sum(rate(http_requests_total" in q
    assert "histogram_quantile(0.99" in queries(APP, "10s")["p99"]


def test_a_healthy_canary_with_no_5xx_ever_is_healthy_not_inconclusive():
    v, judge = verdicts(WatchConfig(), [s(i) for i in range(5)])
    assert v == ["healthy"] * 5 and judge.decided == "" and judge.inconclusive_total == 0


def test_v1_is_silent_on_latency_and_v2_rolls_back_after_three_strikes():
    slow = [s(0), s(1, p99=5.99), s(2, p99=5.99), s(3, p99=5.99), s(4, p99=5.99)]
    v1, v2 = judge_samples(slow, [WatchConfig(signals=("errors",)), WatchConfig(signals=("errors", "latency"))])
    assert v1.decided == "" and v2.decided == "rollback"
    assert [c.strikes for c in v2.checks][:4] == [0, 1, 2, 3] and len(v2.checks) == 5


@pytest.mark.parametrize("bad", [{"err": None}, {"err": math.nan}, {"p99": math.nan}, {"p99": None},
                                 {"error": "Prometheus at x is unreachable"}])
def test_no_data_is_inconclusive_and_never_resets_strikes(bad):
    samples = [s(0, p99=5.0), s(1, p99=5.0), s(2, **bad), s(3, p99=5.0)]
    v, judge = verdicts(WatchConfig(), samples)
    assert v == ["breach", "breach", "inconclusive", "breach"]
    assert judge.decided == "rollback" and [c.strikes for c in judge.checks] == [1, 2, 2, 3]


def test_a_healthy_check_resets_the_consecutive_strikes():
    v, judge = verdicts(WatchConfig(), [s(0, p99=5), s(1, p99=5), s(2), s(3, p99=5), s(4, p99=5)])
    assert judge.decided == "" and judge.strikes == 2


def test_the_total_policy_counts_failures_over_the_whole_run():
    samples = [s(0, p99=5), s(1), s(2, p99=5), s(3), s(4, p99=5)]
    _, consecutive = verdicts(WatchConfig(), samples)
    _, total = verdicts(WatchConfig(policy="total", failure_limit=2), samples)
    assert consecutive.decided == "" and total.decided == "rollback" and total.failures == 3


def test_too_many_inconclusive_checks_stop_the_watcher_with_a_clear_message():
    _, judge = verdicts(WatchConfig(max_inconclusive=3), [s(i, err=math.nan, p99=math.nan) for i in range(6)])
    assert judge.decided == "stopped" and len(judge.checks) == 6
    assert "inconclusive" in judge.message and "no data is not healthy" in judge.message


def test_dry_run_decides_but_its_action_is_only_a_would():
    _, judge = verdicts(WatchConfig(act=False), [s(i, err=0.5) for i in range(3)])
    assert judge.decided == "rollback" and judge.checks[-1].action == "would_rollback"
    assert "dry run" in judge.message


def test_relative_to_stable_with_a_minimum_request_count():
    base = {"myapp-stable:error_rate": 0.04, "myapp-stable:p99": 1.9}
    config = WatchConfig(baseline_app="myapp-stable", min_requests=20)
    v, _ = verdicts(config, [s(0, err=0.06, p99=3.0, **base), s(1, err=0.10, p99=3.0, **base),
                             s(2, err=0.5, p99=9.0, requests=5, **base)])
    assert v == ["healthy", "breach", "inconclusive"]


def test_the_in_flight_gauge_sees_a_hung_canary_that_p99_cannot():
    hung = [s(i, err=math.nan, p99=math.nan, requests=0, inflight=5.0 * i) for i in range(1, 6)]
    v2, v3 = judge_samples(hung, [WatchConfig(), WatchConfig(signals=("errors", "latency", "inflight"),
                                                            inflight_threshold=3)])
    assert v2.decided == "" and v2.inconclusive_total == 5 and v3.decided == "rollback"
    assert "would roll back (dry run) at check 3 of 5: " in v3.message  # it decided there; checks went on


def test_replay_rejudges_recorded_samples_with_other_thresholds():
    slow = [s(i, p99=5.99) for i in range(6)]
    assert replay(slow)["decided"] == "rollback" and replay(slow)["seconds_to_decision"] == 2.0
    assert replay(slow, latency_threshold=7.0)["decided"] == "none"
    assert replay(slow, strikes=1)["seconds_to_decision"] == 0.0


@pytest.mark.parametrize("bad", [{"signals": ("cpu",)}, {"policy": "sometimes"}, {"strikes": 0}])
def test_invalid_configs_are_input_errors(bad):
    with pytest.raises(InputError):
        WatchConfig(**bad)
