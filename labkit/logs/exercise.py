"""Lab 02's exercise check: the learner's handler makes the timeout a traced event."""

from __future__ import annotations

from .result import Correlation


def check_fix(result: Correlation) -> bool:
    """The exercise checker: the timeout is a traced email_timeout event, nothing unpaired or untraced.
    It raises only if it is broken itself (labkit.exercises.grade reports that apart from "not yet")."""
    names = [e.event for e in result.events]
    return ("email_timeout" in names and not result.unpaired_attempts
            and not result.suspects and not result.missing_services)
