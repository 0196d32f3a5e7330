"""Reference solution of the Lab 03 exercise: the SSH hotfix as an accepted, expiring exception."""

import datetime as dt


def accepted(today: dt.date) -> list[dict]:
    """Accepted exceptions for the lab's group: a reason and an end date, never 'forever'."""
    return [{
        "group": "aws_security_group.web",
        "direction": "ingress", "protocol": "tcp", "from_port": 22, "to_port": 22, "source": "0.0.0.0/0",
        "reason": "INC-4711: vendor debugging access, approved by the service owner",
        "expires": (today + dt.timedelta(days=7)).isoformat(),
    }]
