"""Lab 03's reads of the world: the live security groups (EC2, batched and paginated), the
allowlist file - and `check_drift`, which reads both and the state files, then judges."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import botocore.exceptions

from ..aws import explain_aws_error
from ..jsonfile import read_json
from .check import AcceptedRule, DriftReport, evaluate, parse_allowlist
from .state import managed_groups

BATCH = 200  # values per EC2 filter


class _Counter:
    """Counts the EC2 API calls a client makes (botocore event hook)."""

    def __init__(self, client) -> None:
        self.calls = 0
        client.meta.events.register("before-call.ec2.*", self._count)

    def _count(self, **_kwargs) -> None:
        self.calls += 1


def fetch_groups(ec2, ids: list[str], batch: int = BATCH) -> dict[str, dict]:
    """Live groups by id, fetched with the group-id filter in batches, paginated."""
    found: dict[str, dict] = {}
    pages = ec2.get_paginator("describe_security_groups")
    for i in range(0, len(ids), batch):
        chunk = ids[i : i + batch]
        for page in pages.paginate(Filters=[{"Name": "group-id", "Values": chunk}]):
            for g in page.get("SecurityGroups", []):
                found[g["GroupId"]] = g
    return found


def list_groups(ec2, vpc_id: str | None = None) -> list[dict]:
    """Every group in the region (optionally one VPC), paginated."""
    filters = [{"Name": "vpc-id", "Values": [vpc_id]}] if vpc_id else []
    out = []
    for page in ec2.get_paginator("describe_security_groups").paginate(Filters=filters):
        out.extend(page.get("SecurityGroups", []))
    return out


def load_allowlist(path: str | Path | None) -> list[AcceptedRule]:
    """Accepted exceptions from a JSON file (none without a path)."""
    if path is None:
        return []
    return parse_allowlist(read_json(path, "allowlist"), str(path))


def snapshot(lab: Any) -> dict[str, Any]:
    """What the check needs, captured once: the state's groups and every live group in the region."""
    every = list_groups(lab.ec2())
    return {"expected": managed_groups([lab.state_path]), "every": every, "vpc_id": lab.vpc_id}


def check_drift(ec2, state_paths: list[str | Path], *, unmanaged: bool = False, vpc_id: str | None = None,
                strict: bool = False, allowlist: str | Path | None = None,
                today: dt.date | None = None) -> DriftReport:
    """The whole check against one EC2 client (embedded endpoint or real AWS)."""
    expected = managed_groups(list(state_paths))
    allow = load_allowlist(allowlist)
    counter = _Counter(ec2)
    try:
        live = fetch_groups(ec2, sorted(expected))
        every = list_groups(ec2, vpc_id) if unmanaged else None
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as err:
        raise explain_aws_error(err, "ec2:DescribeSecurityGroups") from None
    report = evaluate(expected, live, every, vpc_id=vpc_id, strict=strict, allow=allow, today=today)
    report.api_calls = counter.calls
    return report
