"""Lab 06's exercise: expectations that catch a backup of the wrong database, without crying
wolf on a good one."""

from __future__ import annotations

from ..exercises import learner
from .check import BackupReport, parse_expect


def check_expectations(lab, expect: list[str], wrong_key: str, good_key: str) -> tuple[bool, str, dict[str, BackupReport]]:
    """Verify the wrong database's backup and a good one with the learner's `--expect` strings.

    Passes when the first has findings and the second has none. A malformed expectation is the
    learner's crash, not a wrong answer."""
    expectations = learner(parse_expect, expect)
    seen = {name: lab.verify(f"s3://{lab.bucket}/{key}", expectations, max_age_hours=None)
            for name, key in (("wrong database", wrong_key), ("good backup", good_key))}
    wrong, good = seen["wrong database"], seen["good backup"]
    if not wrong.has_findings:
        return False, ("the wrong database's backup still verifies: it restores, and every table you "
                       "expect is there with enough rows"), seen
    if good.has_findings:
        return False, "a false alarm on a good backup: " + "; ".join(f.detail for f in good.findings), seen
    return True, "", seen
