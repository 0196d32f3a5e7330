"""Read daily cost per service from Cost Explorer through boto3 (any endpoint).

boto3 has no paginator for get_cost_and_usage, so the NextPageToken loop is ours.
Each request costs $0.01 on real AWS: the fetch counts them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import botocore.exceptions

from ..aws import AwsTarget, explain_aws_error
from ..errors import LabkitError
from .data import DailyCosts
from .metrics import METRIC
from .responses import parse_results

CE_REGION = "us-east-1"  # Cost Explorer has one endpoint, in us-east-1
PRICE_PER_REQUEST = 0.01


def cost_request(start: dt.date, end: dt.date, metric: str = METRIC) -> dict:
    """The GetCostAndUsage parameters: DAILY cost (UnblendedCost by default) by SERVICE, End exclusive."""
    return {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Granularity": "DAILY",
        "Metrics": [metric],
        "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}],
        # Credits and refunds are negative line items, not usage: leave them out.
        "Filter": {"Not": {"Dimensions": {"Key": "RECORD_TYPE", "Values": ["Credit", "Refund"]}}},
    }


@dataclass
class Fetched:
    """Daily costs and what reading them took."""

    costs: DailyCosts
    requests: int
    start: dt.date
    end: dt.date

    @property
    def price_usd(self) -> float:
        """What the requests cost on real AWS ($0.01 each)."""
        return self.requests * PRICE_PER_REQUEST


def fetch_results(client, start: dt.date, end: dt.date, max_pages: int = 100,
                  metric: str = METRIC) -> tuple[list[dict], int]:
    """Every ResultsByTime entry for the period, following NextPageToken; returns (entries, requests)."""
    if end <= start:
        raise LabkitError(f"empty period: End {end} must be after Start {start} (End is exclusive)")
    params = cost_request(start, end, metric)
    entries: list[dict] = []
    token = None
    for requests in range(1, max_pages + 1):
        call = dict(params, NextPageToken=token) if token else params
        try:
            resp = client.get_cost_and_usage(**call)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as err:
            raise explain_aws_error(err, "ce:GetCostAndUsage") from None
        entries.extend(resp.get("ResultsByTime", []))
        token = resp.get("NextPageToken")
        if not token:
            return entries, requests
    raise LabkitError(f"ce:GetCostAndUsage still paging after {max_pages} requests; stopping")


def fetch_daily_costs(target: AwsTarget, today: dt.date, days: int, metric: str = METRIC) -> Fetched:
    """Read the `days` complete days before today (End = today, exclusive)."""
    if days < 1:
        raise LabkitError("days must be at least 1")
    start, end = today - dt.timedelta(days=days), today
    client = target.client("ce", region=CE_REGION)
    entries, requests = fetch_results(client, start, end, metric=metric)
    costs = parse_results(entries, start, end, metric=metric)
    return Fetched(costs.until(today), requests, start, end)
