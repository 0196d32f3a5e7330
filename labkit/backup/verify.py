"""Lab 06's check with its I/O: find the backup, read it to the end, restore it, judge it.

`labkit backup verify` is this function; so is every verdict in the notebook.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .check import BackupReport, judge
from .fetch import decode, locate
from .restore import Scratch


def verify(source: str, scratch: Scratch, *, s3: Any = None, expectations: dict[str, int] | None = None,
           max_age_seconds: float | None = None, now: dt.datetime | None = None) -> BackupReport:
    """Verify one backup: its age, that it reads to the end, that it restores, and what came back.

    The copy of the backup lives in a private temporary directory under the scratch server's
    run and is removed before this returns, whatever happens."""
    work = Path(tempfile.mkdtemp(prefix="verify-", dir=scratch.run.dir))
    try:
        found = locate(source, work, s3)
        now = now or dt.datetime.now(dt.UTC)
        age = max(0.0, (now - found.modified).total_seconds())
        decoded = decode(found.path, work)
        if decoded.problem is not None or decoded.path is None or decoded.format is None:
            return judge(found.source, None, unreadable=decoded.problem, age_seconds=round(age, 1),
                         max_age_seconds=max_age_seconds, expectations=expectations, manifest=found.manifest)
        restored = scratch.restore(decoded.path, decoded.format)
        return judge(found.source, restored, age_seconds=round(age, 1), max_age_seconds=max_age_seconds,
                     expectations=expectations, manifest=found.manifest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
