"""The Lab 03 explorer: replay the check on a snapshot of the account with other settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..ui import explorer as explorer_view
from .check import AcceptedRule, evaluate, list_groups
from .rules import Rule
from .state import managed_groups


def snapshot(lab) -> dict[str, Any]:
    """What the check needs, captured once: the state's groups and every live group in the region."""
    every = list_groups(lab.ec2())
    return {"expected": managed_groups([lab.state_path]), "every": every, "vpc_id": lab.vpc_id}


def replay(records: dict[str, Any], *, strict: bool = False, whole_region: bool = False,
           accepted: list[dict[str, Any]] | None = None, today: dt.date | None = None) -> dict[str, Any]:
    """Re-run the comparison on a snapshot: default groups strict or not, one VPC or the region,
    with or without accepted exceptions. Returns the counts the widget shows."""
    allow = [AcceptedRule(a["group"], Rule.from_dict(a), a.get("reason", ""), dt.date.fromisoformat(a["expires"]))
             for a in accepted or []]
    live = {g["GroupId"]: g for g in records["every"]}
    report = evaluate(records["expected"], live, records["every"], strict=strict, allow=allow, today=today,
                      vpc_id=None if whole_region else records["vpc_id"])
    return {"drifted_groups": len(report.drifted),
            "added_rules": sum(len(g.added) for g in report.groups),
            "accepted_rules": sum(len(g.accepted) for g in report.groups),
            "unmanaged": sorted(u["name"] for u in report.unmanaged or []),
            "default_groups": len(report.default_groups),
            "coverage": f"{report.coverage['managed']}/{report.coverage['total']}" if report.coverage else "-"}


def explorer(records: dict[str, Any], accepted: list[dict[str, Any]] | None = None):
    """An ipywidgets control over replay()."""
    import ipywidgets as w

    def show(strict: bool, whole_region: bool, honour_exceptions: bool) -> None:
        result = replay(records, strict=strict, whole_region=whole_region,
                        accepted=accepted if honour_exceptions else None)
        for key, value in result.items():
            print(f"{key:>15}: {value}")

    return explorer_view(show, lambda: dict(
        strict=w.Checkbox(False, description="--strict (default groups count)"),
        whole_region=w.Checkbox(False, description="whole region, not the lab VPC"),
        honour_exceptions=w.Checkbox(True, description="honour accepted exceptions")))
