"""Reference answer of Lab 01's acknowledgement exercise: accept the database's new level, for two weeks."""

import datetime as dt


def acks(today: dt.date) -> list[dict]:
    """The level-shift finding says about $2.95/day since the step; accept $3.00 (the default 10 %
    tolerance covers the daily noise), name who decided, and look again in two weeks."""
    return [{
        "group": "Amazon Relational Database Service",
        "level": 3.00,
        "reason": "CHG-2291: instance class upgraded for the March load, approved by the database team",
        "expires": (today + dt.timedelta(days=14)).isoformat(),
    }]
