"""One night of Lab 06: what the job did and said, what the restore check found, and the truth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .check import BackupReport


@dataclass
class Night:
    """One night: what the job did and said, what the restore check found, and the truth."""

    night: int
    job_ran: bool
    job_exit: int | None
    job_said: str
    key: str | None
    size: int | None
    report: BackupReport
    truth: dict[str, int]  # production's rows that night, as the owner counts them
    age_hours: float | None  # the newest backup's age at the check, on the lab's calendar
    bad: bool  # the newest backup would not bring that night's data back (or is older than the RPO)

    def to_record(self) -> dict[str, Any]:
        """The night as plain data: what replay, the figure and the explorer read."""
        r = self.report
        unreadable = next((f.detail for f in r.findings if f.kind == "unreadable"), None)
        # a restore that ran into the end of the data is unreadable too: keep its error for the replay
        errors = [f.detail for f in r.findings if f.kind == "restore_failed" or (f.kind == "unreadable" and r.restored)]
        return {"night": self.night, "job_ran": self.job_ran, "job_exit": self.job_exit, "size": self.size,
                "age_hours": self.age_hours, "restored": r.restored, "tables": dict(r.tables),
                "unreadable": None if r.restored else unreadable, "restore_errors": errors, "manifest": r.manifest,
                "kinds": r.kinds, "restore_seconds": r.restore_seconds, "truth": dict(self.truth), "bad": self.bad}
