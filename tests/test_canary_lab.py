"""Lab 05 against a real Prometheus and the local cluster: the watchers on live samples."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest
from conftest import LABKIT

from labkit.canary.act import watch
from labkit.canary.check import WatchConfig
from labkit.canary.lab import CANARY, start_lab
from labkit.prometheus import Prometheus, find_prometheus
from labkit.runtime import Run
from labkit.waiting import free_port, port_is_listening

pytestmark = pytest.mark.skipif(not shutil.which("prometheus"),
                                reason="prometheus is not installed (make system installs it)")


@pytest.fixture(scope="module")
def lab():
    find_prometheus()
    with Run("test-lab05") as run:
        lab = start_lab(run, rate=20, scrape_interval=SCRAPE)
        yield lab
        ports = lab.ports()
    for port in ports:
        assert not port_is_listening(port)


def settle(lab):
    """Wait until the canary's last release has left the window (healthy P99 and errors again)."""
    lab.settle(WINDOW)


# the notebook's CI clocks (labkit.clocks): 0.5 s scrapes, 1 s checks, rates over 8 s - longer than
# the slow canary's 5 s answers, so its completed requests are always in the window
SCRAPE, WINDOW, INTERVAL = "500ms", "8s", 1.0
V1 = WatchConfig(name="v1", signals=("errors",), act=False)
V2 = WatchConfig(name="v2", signals=("errors", "latency"), act=False)


def test_a_healthy_canary_that_never_answered_5xx_is_healthy_not_inconclusive(lab):
    (judge,), _ = watch(lab.prom, [V2], window=WINDOW, interval=INTERVAL, duration=3)
    assert {c.verdict for c in judge.checks} == {"healthy"}
    assert lab.prom.query(f'sum(rate(http_requests_total{{app="{CANARY}",status=~"5.."}}[{WINDOW}]))') == []


def test_v1_stays_silent_and_v2_rolls_back_a_slow_canary(lab):
    before = [h["revision"] for h in lab.history()]
    lab.release({"LATENCY_S": "5"})
    undone = []
    judges, _ = watch(lab.prom, [V1, V2.with_(act=True)], window=WINDOW, interval=INTERVAL, duration=40,
                      on_rollback=lambda j: undone.append(lab.undo()))
    assert judges[0].decided == "" and judges[1].decided == "rollback" and len(undone) == 1
    lab.rollout_status()  # the controller gives the re-adopted ReplicaSet its new revision
    history = lab.history()
    assert len(history) == len(before) + 1  # nothing deleted; the old ReplicaSet came back as the newest
    assert [h["revision"] for h in history][-1] == max(before) + 2


def test_an_error_rate_break_is_caught_by_v1_too(lab):
    lab.release({"LATENCY_S": "0", "ERROR_RATE": "0.5"})
    judges, _ = watch(lab.prom, [V1, V2], window=WINDOW, interval=INTERVAL, duration=30, stop_when_decided=True)
    assert judges[0].decided == "rollback" and judges[1].decided == "rollback"


def test_dry_run_acts_on_nothing(lab):
    lab.release({"LATENCY_S": "0", "ERROR_RATE": "0.6"})
    revision = lab.history()[-1]["revision"]
    (judge,), _ = watch(lab.prom, [V1], window=WINDOW, interval=INTERVAL, duration=30)
    assert judge.decided == "rollback" and judge.checks[-1].action == "would_rollback"
    assert lab.history()[-1]["revision"] == revision


def test_no_traffic_gives_nan_and_is_inconclusive_never_healthy(lab):
    quiet = WatchConfig(name="quiet", app="nobody-sends-here", act=False, max_inconclusive=2)
    (judge,), samples = watch(lab.prom, [quiet], window=WINDOW, interval=INTERVAL, duration=10)
    assert judge.decided == "stopped" and {c.verdict for c in judge.checks} == {"inconclusive"}


def test_prometheus_unreachable_mid_watch_is_inconclusive_never_healthy(lab):
    dead = Prometheus(lab.run, f"http://127.0.0.1:{free_port()}", 0)
    lab.release({"LATENCY_S": "5", "ERROR_RATE": "0"})
    live_then_dead = iter([lab.prom, lab.prom, dead, dead, dead])

    class Flaky:
        def scalar(self, promql):
            return current.scalar(promql)

    checks = []
    judge_config = V2.with_(max_inconclusive=2)
    from labkit.canary.check import Judge
    from labkit.canary.fetch import sample

    judge = Judge(judge_config)
    for prom in live_then_dead:
        current = prom
        checks.append(judge.judge(sample(Flaky(), [CANARY], WINDOW)))
        time.sleep(1)
    assert [c.verdict for c in checks][2:] == ["inconclusive"] * 3
    assert all(c.strikes == checks[1].strikes for c in checks[2:])  # unchanged, never reset
    assert judge.decided == "stopped"


def test_cli_watch_exit_codes(lab):
    lab.release({"LATENCY_S": "0", "ERROR_RATE": "0"})
    settle(lab)  # the healthy run below must not see what earlier tests released
    base = [*LABKIT, "canary", "watch", "--prometheus", lab.prom.url, "--app", CANARY, "--interval", str(INTERVAL),
            "--window", WINDOW, "--json"]
    ok = subprocess.run([*base, "--duration", "3", "--dry-run"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["decided"] == "none"
    lab.release({"LATENCY_S": "0", "ERROR_RATE": "0.7"})
    bad = subprocess.run([*base, "--duration", "30", "--dry-run", "--signals", "errors"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and json.loads(bad.stdout)["decided"] == "rollback"
    dead = subprocess.run([*LABKIT, "canary", "watch", "--prometheus", f"http://127.0.0.1:{free_port()}",
                           "--app", CANARY, "--interval", "0.2", "--duration", "10", "--max-inconclusive", "2",
                           "--dry-run"], capture_output=True, text=True, timeout=60)
    assert dead.returncode == 1 and "no data is not healthy" in dead.stdout
    usage = subprocess.run([*base, "--duration", "3"], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 1 and "--kubeconfig" in usage.stderr and "Traceback" not in usage.stderr


def test_with_on_no_data_fail_a_canary_without_data_is_rolled_back_not_left_serving():
    from labkit.canary.check import WatchConfig
    from labkit.canary.replay import replay
    from labkit.errors import InputError

    empty = [{"t": float(i), "myapp-canary:requests": 0.0, "myapp-canary:error_rate": None,
              "myapp-canary:p99": float("nan")} for i in range(10)]
    held = replay(empty, WatchConfig(max_inconclusive=5))
    failed = replay(empty, WatchConfig(on_no_data="fail"))
    assert (held["decided"], held["inconclusive"]) == ("stopped", 6)
    assert (failed["decided"], failed["checks"]) == ("rollback", 3)
    with pytest.raises(InputError, match="on_no_data"):
        WatchConfig(on_no_data="ignore")


def test_a_window_prometheus_would_refuse_is_one_clear_error_before_any_wait():
    from labkit.canary.lab import CanaryLab
    from labkit.errors import InputError

    with pytest.raises(InputError, match="not a PromQL duration"):
        CanaryLab.wait_window_current(None, "ten seconds")  # raises before it touches the cluster or Prometheus
