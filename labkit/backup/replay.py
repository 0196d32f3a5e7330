"""Re-judge recorded nights with another policy: which nights would it have caught?"""

from __future__ import annotations

from typing import Any

from .check import Restored, judge, parse_expect


def replay(history: list[dict[str, Any]], max_age_hours: float | None = 36.0,
           expectations: dict[str, int] | list[str] | None = None, use_manifest: bool = True) -> dict[str, Any]:
    """Each recorded night (Night.to_record) judged again: the backup's age limit in hours, the
    expectations (a dict, or `--expect` strings), with or without the job's manifest.

    Returns the nights flagged, the bad nights missed (the data would not have come back as it
    was, or was older than the lab's RPO), and the false alarms (flagged, though fine)."""
    if isinstance(expectations, list):
        expectations = parse_expect(expectations)
    flagged, kinds = [], {}
    for row in history:
        restored = None if not row["restored"] else Restored(row["tables"], list(row["restore_errors"]))
        report = judge("", restored, unreadable=row["unreadable"], age_seconds=row["age_hours"],
                       max_age_seconds=max_age_hours, expectations=expectations,
                       manifest=row["manifest"] if use_manifest else None)
        kinds[row["night"]] = report.kinds
        if report.has_findings:
            flagged.append(row["night"])
    bad = [row["night"] for row in history if row["bad"]]
    return {"flagged": flagged, "missed": [n for n in bad if n not in flagged],
            "false_alarms": [n for n in flagged if n not in bad], "kinds": kinds}
