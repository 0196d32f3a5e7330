"""Lab 06 as functions the notebook calls: a production database, a backup job run night after
night, the restore check after every night, and the lab's breaks.

The lab keeps a calendar: each night is a real run of the job and a real check, and between
nights the lab's clock jumps to the next night's 02:00. The check is told the lab's time (as
`verify(now=...)` can be for any "as of" question), so a backup's age reads in real hours and
days against a real RPO - and does not depend on how loaded the machine is."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..aws import AwsTarget, EmbeddedAWS, open_backend
from ..errors import ComponentError, InputError
from ..paths import LABS
from ..postgres import Postgres, client_tool, scram_verifier, start_postgres
from ..runtime import Run
from ..waiting import LOCALHOST
from .bucket import make_bucket
from .check import BackupReport
from .fetch import newest_object
from .night import Night
from .restore import Scratch, count_rows
from .shop import SCALE, setup_database, trade
from .verify import verify

LAB = LABS / "06-backup-restore"
RPO_HOURS = 36.0  # the promise for a nightly job: never more than a night's data (and some slack) lost
NIGHT = 86400.0  # seconds of the lab's calendar between two nights


@dataclass
class BackupLab:
    """The shop's database, the bucket, the job (a copy of backup.sh) and every night so far."""

    run: Run
    target: AwsTarget
    prod: Postgres
    scratch: Scratch
    bucket: str
    endpoint: EmbeddedAWS | None = None
    prefix: str = "nightly/"
    rpo_hours: float = RPO_HOURS
    scale: dict[str, int] = field(default_factory=lambda: dict(SCALE))
    database: str = "shop"  # what the job's PGDATABASE says
    history: list[Night] = field(default_factory=list)
    _start: float = field(default_factory=lambda: time.time() // NIGHT * NIGHT + 2 * 3600)  # night 0: 02:00 UTC today
    _offset: float = 0.0  # the lab's clock minus the real one, this night
    _written: dict[str, float] = field(default_factory=dict)  # key -> the offset of the night that wrote it

    @property
    def script(self) -> Path:
        """The job as it runs here: the lab's copy of labs/06-backup-restore/backup.sh."""
        return self.run.dir / "job" / "backup.sh"

    @property
    def source(self) -> str:
        """Where the backups go: what `labkit backup verify` is pointed at."""
        return f"s3://{self.bucket}/{self.prefix}"

    def ports(self) -> list[int]:
        """Every port the lab listens on here: both PostgreSQL servers and the endpoint."""
        return self.run.ports() + ([self.endpoint.port] if self.endpoint else [])

    def s3(self) -> Any:
        """An S3 client for the lab's endpoint or account."""
        return self.target.client("s3")

    def job_env(self) -> dict[str, str]:
        """The job's environment, as a scheduler would set it (the password only in PGPASSFILE)."""
        tools = [str(Path(aws_cli() or sys.executable).parent), str(Path(client_tool("pg_dump")).parent)]
        env = {"PATH": os.pathsep.join([*tools, "/usr/local/bin", "/usr/bin", "/bin"]),
               "LANG": "C.UTF-8", "PGHOST": LOCALHOST, "PGPORT": str(self.prod.port), "PGUSER": "backup",
               "PGDATABASE": self.database, "PGPASSFILE": str(self.run.dir / "job" / "pgpass"),
               "BACKUP_BUCKET": self.bucket, "BACKUP_PREFIX": self.prefix,
               "AWS_DEFAULT_REGION": self.target.region, "HOME": str(self.run.dir / "job")}
        if self.target.endpoint_url:
            env |= {"AWS_ENDPOINT_URL": self.target.endpoint_url, "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing"}
        else:  # real AWS: the learner's own credential chain
            env["HOME"] = os.environ.get("HOME", env["HOME"])
            env |= {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
            if self.target.profile:
                env["AWS_PROFILE"] = self.target.profile
        return env

    # -- the nights ---------------------------------------------------------------------
    def _begin_night(self) -> None:
        """The clock jumps to the next night; the day's business has happened."""
        nights = len(self.history) + 1
        self._offset = self._start + nights * NIGHT - time.time()
        trade(self.prod, self.scale)

    def now(self) -> dt.datetime:
        """The lab's time: this night, as the clock on the wall would say."""
        return dt.datetime.fromtimestamp(time.time() + self._offset, dt.UTC)

    def _as_of(self, key: str | None) -> dt.datetime:
        """What `now` to tell the check so that the backup `key` (written on some night, stamped by S3
        with the real time) has its age on the lab's calendar."""
        written = self._written.get(key or "", self._offset)
        return dt.datetime.fromtimestamp(time.time() + self._offset - written, dt.UTC)

    def night(self) -> Night:
        """A night: the business day, the job (the real script), then the restore check on the newest backup."""
        self._begin_night()
        started = time.time()
        code, out = self.run.run_command(f"backup-night-{len(self.history) + 1}", ["bash", str(self.script)],
                                         env=self.job_env(), timeout=300)
        lines = [line for line in out.splitlines() if line.strip()]
        try:
            newest = newest_object(self.s3(), self.bucket, self.prefix)
        except InputError:
            newest = None
        key = size = None
        if newest is not None and newest["LastModified"].timestamp() >= int(started):  # S3 keeps whole seconds
            key, size = newest["Key"], newest["Size"]  # the listing has the size: no second request
            self._written[key] = self._offset
        said = lines[-1] if lines else "(no output)"
        return self._record(True, code, said, key, size)

    def skip_nights(self, count: int) -> list[Night]:
        """The schedule silently stopped: the business goes on, the job does not; the check still runs."""
        last = next((n for n in reversed(self.history) if n.job_ran), None)
        said = f"(did not run; its last status: exit {last.job_exit if last else '-'})"
        nights = []
        for _ in range(count):
            self._begin_night()
            nights.append(self._record(False, None, said, None, None))
        return nights

    def _record(self, ran: bool, code: int | None, said: str, key: str | None, size: int | None) -> Night:
        report = self.verify()
        truth = count_rows(self.prod, "shop")
        age = None if report.backup_age_seconds is None else round(report.backup_age_seconds / 3600, 2)
        lost = any(report.tables.get(t, 0) < rows for t, rows in truth.items())
        # bad: this backup would not bring the data back - unreadable, failing, older than the RPO,
        # or (on a night the job ran) missing rows the database had when it dumped
        bad = (not report.restored or "restore_failed" in report.kinds or (ran and lost)
               or (age is not None and age > self.rpo_hours))
        night = Night(len(self.history) + 1, ran, code, said, key, size, report, truth, age, bad)
        self.history.append(night)
        return night

    def verify(self, source: str | None = None, expectations: dict[str, int] | None = None,
               max_age_hours: float | None | str = "rpo") -> BackupReport:
        """`labkit backup verify` on the newest backup (or source), with the lab's scratch server, as
        of the lab's time; the age limit is the lab's RPO unless given (None: no limit)."""
        hours = self.rpo_hours if max_age_hours == "rpo" else max_age_hours
        newest = max(self._written, key=self._written.get, default=None) if source is None else source.split("/", 3)[-1]
        return verify(source or self.source, self.scratch, s3=self.s3(), expectations=expectations,
                      max_age_seconds=None if hours is None else float(hours) * 3600, now=self._as_of(newest))

    def cli_verify(self, *options: str) -> tuple[list[str], int, str]:
        """Run `labkit backup verify` on the newest backup as a CI job would, in its own process
        (with its own throwaway PostgreSQL): the command, its exit code and what it printed."""
        argv = ["labkit", "backup", "verify", self.source, "--max-age", f"{self.rpo_hours:g}h",
                *(["--endpoint-url", self.target.endpoint_url] if self.target.endpoint_url else []),
                *(["--profile", self.target.profile] if self.target.profile else []),
                "--region", self.target.region, *options]
        env = {**os.environ, **({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
                                if self.target.endpoint_url else {})}
        done = subprocess.run([sys.executable, "-m", "labkit.cli", *argv[1:]], env=env, capture_output=True,
                              text=True, timeout=300)
        return argv, done.returncode, (done.stdout + done.stderr).strip()

    def job_log(self, night: Night | None = None) -> str:
        """What the job wrote (stdout and stderr) on a night: what nobody reads while it exits 0."""
        night = night or self.history[-1]
        path = self.run.logs / f"backup-night-{night.night}.out"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- breaks and fixes ------------------------------------------------------------------
    def migrate(self) -> str:
        """Break 1: migration 002 adds the payments table, without a GRANT for the backup role."""
        sql = (LAB / "migrations" / "002_payments.sql").read_text()
        with self.prod.connect("shop") as conn:
            conn.execute("SET ROLE shop_owner")
            conn.execute(sql)
        return "migrations/002_payments.sql"

    def use_pipefail(self) -> str:
        """Fix, part 1: the job fails when any command of a pipeline fails, not just the last one."""
        text = self.script.read_text()
        if "set -euo pipefail" not in text:
            self.script.write_text(text.replace("set -eu\n", "set -euo pipefail\n", 1))
        return "set -eu  ->  set -euo pipefail"

    def grant_backup(self) -> str:
        """Fix, part 2: the backup role may read payments, and every table migrations add from now on."""
        statements = ["GRANT SELECT ON ALL TABLES IN SCHEMA public TO backup",
                      "ALTER DEFAULT PRIVILEGES FOR ROLE shop_owner IN SCHEMA public GRANT SELECT ON TABLES TO backup"]
        with self.prod.connect("shop") as conn:
            conn.execute("SET ROLE shop_owner")
            for s in statements:
                conn.execute(s)
        return ";\n".join(statements) + ";"

    def point_job_at(self, database: str) -> None:
        """The exercise's break: a config change points the job's PGDATABASE elsewhere."""
        self.database = database


def aws_cli() -> str | None:
    """The aws CLI the job runs: the one beside this Python (installed with labkit) first."""
    return shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")


def start_lab(run: Run, backend: str = "local", profile: str | None = None, region: str = "us-east-1",
              allow_real_changes: bool = False, rpo_hours: float = RPO_HOURS,
              scale: dict[str, int] | None = None) -> BackupLab:
    """Start PostgreSQL (production), the scratch server for restores, the AWS side and the bucket."""
    if rpo_hours <= 0:
        raise InputError("rpo_hours must be positive")
    if aws_cli() is None:
        raise ComponentError("the aws CLI is not installed (pip install awscli; make setup does)")
    changes = "creates an S3 bucket and writes backups to it"
    if backend != "local":  # at once - and without the opt-in, before anything has started
        aws_side = open_backend(run, backend, region, profile, changes=changes, allow_real_changes=allow_real_changes)
    scratch = Scratch(run)
    with ThreadPoolExecutor(3) as pool:  # three servers start at once: initdb and moto take a second each
        prod_started = pool.submit(start_postgres, run)
        scratch_started = pool.submit(lambda: scratch.pg)
        local_side = pool.submit(open_backend, run, "local", region) if backend == "local" else None
        prod = prod_started.result()
        scratch_started.result()
        target, endpoint = local_side.result() if local_side else aws_side
    password = secrets.token_urlsafe(24)
    scale = {**SCALE, **(scale or {})}
    setup_database(prod, scram_verifier(password), scale)
    job = run.dir / "job"
    job.mkdir(mode=0o700)
    shutil.copy(LAB / "backup.sh", job / "backup.sh")
    shutil.copy(LAB / "count-rows.sql", job / "count-rows.sql")
    prod.passfile(job / "pgpass", user="backup", password=password)
    return BackupLab(run, target, prod, scratch, make_bucket(target, run), endpoint, rpo_hours=rpo_hours,
                     scale=scale)
