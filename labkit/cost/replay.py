"""Re-run the detector on recorded daily costs with other thresholds (the explorer's engine)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .data import DailyCosts
from .detect import CostRules, detect


@dataclass
class ReplayResult:
    """How a set of thresholds does on recorded data with known injected events."""

    findings: int
    true_positives: int
    false_positives: int
    detected: dict[str, bool]
    days_to_detect: dict[str, int | None]


def replay(records: list[dict[str, Any]], truth: list[dict[str, Any]], **thresholds: Any) -> ReplayResult:
    """Re-run the detector on recorded daily costs with other thresholds.

    truth lists the injected events as {"name", "service", "start", "end"} (ISO dates);
    a finding inside an event's service and dates is a true positive.
    """
    rules = CostRules().with_(**thresholds)
    found = detect(DailyCosts.from_records(records), rules).anomalies
    events = [
        (e["name"], e["service"], dt.date.fromisoformat(e["start"]), dt.date.fromisoformat(e["end"]))
        for e in truth
    ]
    tp = 0
    first: dict[str, dt.date] = {}
    for a in found:
        hits = [name for name, svc, s, e in events if a.service == svc and s <= a.date <= e]
        tp += bool(hits)
        for name in hits:
            first[name] = min(first.get(name, a.date), a.date)
    start = {name: s for name, _, s, _ in events}
    return ReplayResult(
        findings=len(found),
        true_positives=tp,
        false_positives=len(found) - tp,
        detected={name: name in first for name in start},
        days_to_detect={name: (first[name] - start[name]).days if name in first else None for name in start},
    )
