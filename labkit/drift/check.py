"""Compare what Terraform state expects with the live security groups, and find the unmanaged ones.

Live groups are fetched with the ``group-id`` *filter*, in batches: a ``GroupIds``
list fails the whole call when one id no longer exists, the filter just leaves it
out - so an id the filter does not return is ``missing``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.exceptions

from ..aws import explain_aws_error
from ..errors import InputError
from ..jsonfile import read_json
from .rules import Rule, from_ip_permissions
from .state import ManagedGroup, managed_groups

BATCH = 200  # values per EC2 filter


@dataclass
class GroupDrift:
    """One managed group: ok, drift (rules added or removed outside Terraform) or missing."""

    id: str
    status: str
    name: str | None
    addresses: list[str]
    added: list[Rule] = field(default_factory=list)
    removed: list[Rule] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    expected: list[Rule] = field(default_factory=list)
    actual: list[Rule] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"id": self.id, "status": self.status, "name": self.name, "addresses": self.addresses,
                "added": [r.to_dict() for r in self.added], "removed": [r.to_dict() for r in self.removed],
                "accepted": self.accepted}


@dataclass
class DriftReport:
    """The whole answer: per-group drift, unmanaged groups, default groups, coverage."""

    groups: list[GroupDrift]
    unmanaged: list[dict[str, Any]] | None = None  # None: the scan was not asked for
    default_groups: list[dict[str, Any]] = field(default_factory=list)
    coverage: dict[str, int] | None = None
    api_calls: int = 0

    @property
    def drifted(self) -> list[GroupDrift]:
        """The groups whose live rules differ from the state, or that are gone."""
        return [g for g in self.groups if g.status != "ok"]

    @property
    def has_findings(self) -> bool:
        """Drift, or a group no state file manages."""
        return bool(self.drifted or self.unmanaged)

    def to_dict(self) -> dict[str, Any]:
        """The `--json` output."""
        return {"groups": [g.to_dict() for g in self.groups], "unmanaged": self.unmanaged or [],
                "default_groups": self.default_groups, "coverage": self.coverage, "api_calls": self.api_calls}


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


def live_rules(group: dict) -> set[Rule]:
    """A live group's rules, normalised."""
    gid = group["GroupId"]
    return (from_ip_permissions("ingress", group.get("IpPermissions", []), gid)
            | from_ip_permissions("egress", group.get("IpPermissionsEgress", []), gid))


@dataclass(frozen=True)
class AcceptedRule:
    """An accepted exception: a rule someone decided to keep, with a reason and an expiry."""

    group: str  # group id, group name or Terraform address
    rule: Rule
    reason: str
    expires: dt.date

    def matches(self, g: ManagedGroup, rule: Rule) -> bool:
        """This exception covers the rule in that group (by ID, name or state address)."""
        return rule == self.rule and self.group in ([g.id, g.name] + g.addresses)


def load_allowlist(path: str | Path | None) -> list[AcceptedRule]:
    """Accepted exceptions from a JSON list of {group, rule fields..., reason, expires}."""
    if path is None:
        return []
    entries = read_json(path, "allowlist")
    if not isinstance(entries, list):
        raise InputError(f"{path}: the allowlist must be a JSON list")
    out = []
    for i, e in enumerate(entries):
        where = f"{path}: entry {i}"
        if not isinstance(e, dict):
            raise InputError(f"{where}: expected an object")
        for key in ("group", "reason", "expires"):
            if not e.get(key):
                raise InputError(f"{where}: {key!r} is required (an exception without a reason or an end is drift)")
        try:
            expires = dt.date.fromisoformat(str(e["expires"]))
        except ValueError:
            raise InputError(f"{where}: expires must be YYYY-MM-DD") from None
        try:
            rule = Rule.from_dict(e)
        except InputError as err:
            raise InputError(f"{where}: {err}") from None
        out.append(AcceptedRule(str(e["group"]), rule, str(e["reason"]), expires))
    return out


def compare(expected: ManagedGroup, live: dict | None, allow: list[AcceptedRule], today: dt.date) -> GroupDrift:
    """The drift of one group: rules added and removed outside Terraform, minus accepted ones."""
    if live is None:
        return GroupDrift(expected.id, "missing", expected.name, expected.addresses,
                          removed=sorted(expected.rules), expected=sorted(expected.rules))
    actual = live_rules(live)
    added, accepted = [], []
    for rule in sorted(actual - expected.rules):
        hit = next((a for a in allow if a.matches(expected, rule)), None)
        if hit and hit.expires >= today:
            accepted.append({**rule.to_dict(), "reason": hit.reason, "expires": hit.expires.isoformat()})
        else:
            added.append(rule)
    removed = sorted(expected.rules - actual)
    status = "drift" if added or removed else "ok"
    name = expected.name or live.get("GroupName")
    return GroupDrift(expected.id, status, name, expected.addresses, added, removed, accepted,
                      sorted(expected.rules), sorted(actual))


def evaluate(expected: dict[str, ManagedGroup], live: dict[str, dict], every: list[dict] | None, *,
             vpc_id: str | None = None, strict: bool = False, allow: list[AcceptedRule] | None = None,
             today: dt.date | None = None) -> DriftReport:
    """The pure comparison: expected groups, live groups by id, and (for the unmanaged scan) all groups."""
    today = today or dt.date.today()
    report = DriftReport([compare(g, live.get(gid), allow or [], today) for gid, g in sorted(expected.items())])
    if every is not None:
        _unmanaged(report, expected, [g for g in every if not vpc_id or g.get("VpcId") == vpc_id], strict)
    return report


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


def _unmanaged(report: DriftReport, expected: dict[str, ManagedGroup], every: list[dict], strict: bool) -> None:
    in_scope: list[str] = []
    report.unmanaged = []
    for g in every:
        entry = {"id": g["GroupId"], "name": g.get("GroupName"), "vpc_id": g.get("VpcId"),
                 "rules": len(live_rules(g))}
        if g.get("GroupName") == "default":
            report.default_groups.append({**entry, "managed": g["GroupId"] in expected})
            if not strict:
                continue
        in_scope.append(g["GroupId"])
        if g["GroupId"] not in expected:
            report.unmanaged.append(entry)
    managed = sum(1 for gid in in_scope if gid in expected)
    report.coverage = {"managed": managed, "total": len(in_scope)}
