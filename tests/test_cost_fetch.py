"""The Cost Explorer fetch: request parameters (Stubber), and the embedded endpoint for real."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import boto3
import pytest
from botocore.stub import Stubber
from conftest import LABKIT

from labkit.aws import EmbeddedAWS
from labkit.cost import check, cost_request, fetch_daily_costs, fetch_results
from labkit.cost.sample import COMPUTE, responses, sample_costs, with_spike
from labkit.errors import LabkitError
from labkit.runtime import Run

TODAY = dt.date(2026, 3, 15)


def stubbed_client():
    client = boto3.client("ce", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


def test_when_fetching_then_the_request_is_daily_unblended_by_service_with_exclusive_end():
    client, stub = stubbed_client()
    start, end = dt.date(2026, 2, 13), TODAY
    # written out literally: the request is compared with what AWS documents, not with itself
    expected = {
        "TimePeriod": {"Start": "2026-02-13", "End": "2026-03-15"},
        "Granularity": "DAILY",
        "Metrics": ["UnblendedCost"],
        "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}],
        "Filter": {"Not": {"Dimensions": {"Key": "RECORD_TYPE", "Values": ["Credit", "Refund"]}}},
    }
    assert cost_request(start, end) == expected
    page1 = {"ResultsByTime": [], "NextPageToken": "tok-2"}
    stub.add_response("get_cost_and_usage", page1, expected)
    stub.add_response("get_cost_and_usage", {"ResultsByTime": []}, {**expected, "NextPageToken": "tok-2"})
    with stub:
        entries, requests = fetch_results(client, start, end)
    stub.assert_no_pending_responses()
    assert (entries, requests) == ([], 2)


def test_when_the_api_refuses_then_a_labkit_error_names_the_call():
    client, stub = stubbed_client()
    stub.add_client_error("get_cost_and_usage", "AccessDeniedException", "not allowed")
    with stub, pytest.raises(LabkitError, match="ce:GetCostAndUsage.*AccessDeniedException"):
        fetch_results(client, dt.date(2026, 3, 1), TODAY)


def test_when_the_period_is_empty_then_error():
    client, _ = stubbed_client()
    with pytest.raises(LabkitError, match="exclusive"):
        fetch_results(client, TODAY, TODAY)


@pytest.fixture
def endpoint():
    with Run("test-cost") as run:
        yield EmbeddedAWS(run).start()


def test_when_the_endpoint_pages_then_every_page_is_read(endpoint, assert_port_free):
    costs = with_spike(sample_costs(TODAY, 30))
    endpoint.seed_cost_and_usage(responses(costs, page_days=7))  # 5 pages
    fetched = fetch_daily_costs(endpoint.target(), TODAY, 30)
    assert fetched.requests == 5
    assert fetched.costs.days[0] == TODAY - dt.timedelta(days=30)
    assert fetched.costs.days[-1] == TODAY - dt.timedelta(days=1)
    assert fetched.costs.table[COMPUTE].iloc[-1] == pytest.approx(18.50)
    # days in the open month are Estimated; earlier ones are final
    est = dict(zip(fetched.costs.days, fetched.costs.estimated.tolist(), strict=True))
    assert est[dt.date(2026, 3, 14)] is True and est[dt.date(2026, 2, 28)] is False
    port = endpoint.port
    endpoint.stop()
    assert_port_free(port)


def test_when_the_endpoint_returns_nothing_then_the_check_refuses_to_call_it_healthy(endpoint):
    fetched = fetch_daily_costs(endpoint.target(), TODAY, 30)  # nothing seeded
    assert fetched.requests == 1 and fetched.costs.services == []
    with pytest.raises(LabkitError, match="nothing was judged"):
        check(fetched.costs)


def test_when_reset_and_reseeded_then_the_same_request_sees_the_new_bill(endpoint):
    endpoint.seed_cost_and_usage(responses(sample_costs(TODAY)))
    assert fetch_daily_costs(endpoint.target(), TODAY, 30).costs.table[COMPUTE].iloc[-1] < 2
    endpoint.reset()
    endpoint.seed_cost_and_usage(responses(with_spike(sample_costs(TODAY))))
    assert fetch_daily_costs(endpoint.target(), TODAY, 30).costs.table[COMPUTE].iloc[-1] == 18.5


def test_cli_sample_reports_the_compute_spike_on_yesterday():
    proc = subprocess.run([*LABKIT, "cost", "check", "--sample", "--json", "--today", "2026-03-15"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    found = json.loads(proc.stdout)["anomalies"]
    assert [(a["service"], a["date"], a["kind"]) for a in found] == [(COMPUTE, "2026-03-14", "spike")]
    assert found[0]["baseline_avg"] == 1.2143 and found[0]["threshold"] == 1.3942
    assert found[0]["pct_above"] == 1423.5 and found[0]["estimated"] is True


def test_cli_against_an_endpoint_url_with_nothing_seeded_exits_1(endpoint):
    proc = subprocess.run([*LABKIT, "cost", "check", "--endpoint-url", endpoint.url, "--today", "2026-03-15"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "nothing was judged" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_against_a_dead_endpoint_exits_1_with_one_line():
    from labkit.waiting import free_port

    url = f"http://127.0.0.1:{free_port()}"
    proc = subprocess.run([*LABKIT, "cost", "check", "--endpoint-url", url], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
