"""Lab 02 against the four real services: healthy exits 0, the break is caught, the fix works."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import LABKIT

from labkit.errors import InputError
from labkit.logs import correlate
from labkit.logs.exercise import check_fix
from labkit.logs.lab import SOLUTION_HANDLER, start_lab
from labkit.logs.replay import window_tradeoff
from labkit.runtime import Run
from labkit.waiting import port_is_listening


def running_lab(email_timeout_s: float):
    with Run("test-lab02") as run:
        lab = start_lab(run, email_timeout_s=email_timeout_s)
        yield lab
    for proc_ports in lab.urls.values():
        assert not port_is_listening(int(proc_ports.rsplit(":", 1)[1]))


@pytest.fixture
def lab():
    yield from running_lab(0.2)


@pytest.fixture
def healthy_lab():
    """A lab whose notification waits 2 s for the provider: a loaded CI machine once took over
    0.2 s to answer a healthy send, and the healthy trace then had a timeout in it."""
    yield from running_lab(2.0)


def cli(trace_id, log_dir):
    proc = subprocess.run([*LABKIT, "logs", "correlate", trace_id, "--log-dir", str(log_dir), "--json"],
                          capture_output=True, text=True, timeout=60)
    return proc.returncode, json.loads(proc.stdout) if proc.stdout else None


def test_when_healthy_then_every_service_logs_the_trace_and_the_cli_exits_0(healthy_lab):
    lab = healthy_lab
    payment = lab.pay()
    assert payment.trace_id.startswith("pay-") and len(payment.trace_id) == 12
    assert len(payment.w3c_trace_id) == 32
    code, out = cli(payment.trace_id, lab.log_dir)
    assert code == 0
    assert out["services_seen"] == ["auth", "email-provider", "ledger", "notification"]
    assert [e["event"] for e in out["events"]] == [
        "payment_request_received", "user_authenticated", "transaction_recorded", "email_send_attempt",
        "email_accepted", "email_queued", "payment_complete"]
    assert {e["fields"].get("user_id") for e in out["events"] if e["service"] == "auth"} == {"u-1001"}
    assert cli(payment.w3c_trace_id, lab.log_dir)[0] == 0


def test_when_the_provider_times_out_then_the_unpaired_attempt_and_the_suspect_are_found(lab):
    lab.set_email_delay(0.8)
    payment = lab.pay()
    assert (payment.status, payment.notification) == ("complete", "queued")  # what the tooling says
    code, out = cli(payment.trace_id, lab.log_dir)
    assert code == 2
    assert [(u["service"], u["attempt"]) for u in out["unpaired_attempts"]] == [("notification", "email_send_attempt")]
    timeout_line, retry_line = out["suspects"]  # the handler's line, then the retry worker's, a second later
    assert timeout_line["service"] == "notification" and "Connection timeout" in timeout_line["text"]
    assert "retry: e-mail to alice@example.com failed" in retry_line["text"]
    assert payment.trace_id not in timeout_line["text"] + retry_line["text"]
    assert out["missing_services"] == []
    assert check_fix(correlate(payment.trace_id, lab.log_dir)) is False


def test_when_the_fixed_handler_is_deployed_then_the_timeout_is_a_traced_event(lab):
    lab.set_email_delay(0.8)
    lab.install_handler(SOLUTION_HANDLER)
    payment = lab.pay()
    result = correlate(payment.trace_id, lab.log_dir)
    assert "email_timeout" in [e.event for e in result.events]
    assert [e.level for e in result.errors] == ["ERROR"] and result.suspects == []
    assert check_fix(result) is True
    assert payment.notification == "failed"


def test_when_payments_overlap_then_a_wider_window_takes_in_other_payments_lines(lab):
    lab.set_email_delay(0.8)
    burst = lab.pay_burst(count=3, spacing_s=1.5)
    mine = burst[1]
    rows = {r["grace_ms"]: r for r in window_tradeoff(mine.trace_id, mine.recipient, lab.log_dir)}
    assert not rows[0]["retry_failure_caught"] and rows[1000]["retry_failure_caught"]
    assert rows[5000]["suspects"] > rows[1000]["suspects"] > rows[0]["suspects"]
    with pytest.raises(InputError):
        lab.pay_burst(count=0)


def test_when_a_handler_has_no_function_then_input_error(lab):
    with pytest.raises(InputError, match="on_email_timeout"):
        lab.install_handler("print('hello')")


def test_when_payments_run_concurrently_then_each_trace_is_complete(lab):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        payments = list(pool.map(lambda i: lab.pay(user_id=f"u-{i}", settle=False), range(8)))
    for p in payments:  # the provider logs before it answers: nothing to wait for
        result = correlate(p.trace_id, lab.log_dir)
        assert len(result.events) == 7 and not result.has_findings, p.trace_id
