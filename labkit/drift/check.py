"""Compare what Terraform state expects with the live security groups, and find the unmanaged ones.

Live groups are fetched with the ``group-id`` *filter*, in batches: a ``GroupIds``
list fails the whole call when one id no longer exists, the filter just leaves it
out - so an id the filter does not return is ``missing``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from .rules import Rule, from_ip_permissions
from .state import ManagedGroup


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


def parse_allowlist(entries: Any, where: str) -> list[AcceptedRule]:
    """Accepted exceptions from a list of {group, rule fields..., reason, expires}; InputError names
    the entry that is wrong (an exception without a reason or an end is drift)."""
    if not isinstance(entries, list):
        raise InputError(f"{where}: the allowlist must be a JSON list")
    out = []
    for i, e in enumerate(entries):
        at = f"{where}: entry {i}"
        if not isinstance(e, dict):
            raise InputError(f"{at}: expected an object")
        for key in ("group", "reason", "expires"):
            if not e.get(key):
                raise InputError(f"{at}: {key!r} is required (an exception without a reason or an end is drift)")
        try:
            expires = dt.date.fromisoformat(str(e["expires"]))
        except ValueError:
            raise InputError(f"{at}: expires must be YYYY-MM-DD") from None
        try:
            rule = Rule.from_dict(e)
        except InputError as err:
            raise InputError(f"{at}: {err}") from None
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
