"""Re-run the drift comparison on a snapshot with other settings (the explorer's engine)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .check import evaluate, parse_allowlist


def replay(records: dict[str, Any], *, strict: bool = False, whole_region: bool = False,
           accepted: list[dict[str, Any]] | None = None, today: dt.date | None = None) -> dict[str, Any]:
    """Re-run the comparison on a snapshot: default groups strict or not, one VPC or the region,
    with or without accepted exceptions. Returns the counts the widget shows."""
    allow = parse_allowlist(accepted or [], "accepted")
    live = {g["GroupId"]: g for g in records["every"]}
    report = evaluate(records["expected"], live, records["every"], strict=strict, allow=allow, today=today,
                      vpc_id=None if whole_region else records["vpc_id"])
    return {"drifted_groups": len(report.drifted),
            "added_rules": sum(len(g.added) for g in report.groups),
            "accepted_rules": sum(len(g.accepted) for g in report.groups),
            "unmanaged": sorted(u["name"] for u in report.unmanaged or []),
            "default_groups": len(report.default_groups),
            "coverage": f"{report.coverage['managed']}/{report.coverage['total']}" if report.coverage else "-"}
