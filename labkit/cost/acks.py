"""Acknowledged cost changes: a known new daily level for one group, with a reason and an end date.

A level shift is reported every day until the rolling baseline absorbs it. Once someone
has looked at it, repeating it daily teaches people to ignore the check. An
acknowledgement accepts a *level*, not a service: findings for that group whose day cost
stays within level x (1 + tolerance) are set aside until the end date; a further rise, or
anything after the end date, is reported again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from .detect import Anomaly

MAX_DAYS = 31  # an acknowledgement is looked at again within a month


@dataclass(frozen=True)
class Ack:
    """One accepted level: `group` as the findings label it (a service name for SERVICE groups)."""

    group: str
    level: float  # dollars per day now expected
    reason: str
    expires: dt.date
    tolerance: float = 0.10

    def covers(self, anomaly: Anomaly, today: dt.date) -> bool:
        """Whether this acknowledgement sets the finding aside today."""
        return (today <= self.expires and anomaly.label == self.group
                and anomaly.actual <= self.level * (1 + self.tolerance))


def read_acks(entries: Any, today: dt.date | None = None) -> list[Ack]:
    """Acknowledgements from JSON-like entries; a bad entry is an InputError naming it and its field.

    With `today`, an end date more than MAX_DAYS ahead is refused as well.
    """
    if not isinstance(entries, list):
        raise InputError("acknowledgements must be a list of objects with group, level, reason and expires")
    acks = []
    for i, e in enumerate(entries):
        where = f"acknowledgement {i}"
        if not isinstance(e, dict):
            raise InputError(f"{where}: must be an object with group, level, reason and expires")
        group, level, reason = e.get("group"), e.get("level"), e.get("reason")
        if not isinstance(group, str) or not group.strip():
            raise InputError(f"{where}: group is required (the finding's label, e.g. the service name)")
        if isinstance(level, bool) or not isinstance(level, (int, float)) or level <= 0:
            raise InputError(f"{where}: level must be a positive number of dollars per day")
        if not isinstance(reason, str) or not reason.strip():
            raise InputError(f"{where}: reason is required (who decided, and why)")
        try:
            expires = dt.date.fromisoformat(str(e.get("expires")))
        except ValueError:
            raise InputError(f"{where}: expires must be a date, YYYY-MM-DD") from None
        if today is not None and expires > today + dt.timedelta(days=MAX_DAYS):
            raise InputError(f"{where}: expires {expires} is more than {MAX_DAYS} days ahead: look again sooner")
        tolerance = e.get("tolerance", 0.10)
        if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 <= tolerance <= 1:
            raise InputError(f"{where}: tolerance must be a fraction between 0 and 1")
        acks.append(Ack(group.strip(), float(level), reason.strip(), expires, float(tolerance)))
    return acks


def acknowledge(anomalies: list[Anomaly], acks: list[Ack],
                today: dt.date) -> tuple[list[Anomaly], list[tuple[Anomaly, Ack]]]:
    """Split findings into those still reported and those set aside (with the acknowledgement)."""
    kept: list[Anomaly] = []
    aside: list[tuple[Anomaly, Ack]] = []
    for a in anomalies:
        ack = next((k for k in acks if k.covers(a, today)), None)
        if ack is None:
            kept.append(a)
        else:
            aside.append((a, ack))
    return kept, aside
