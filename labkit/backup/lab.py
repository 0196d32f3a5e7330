"""Lab 06 as functions the notebook calls: a production database, a backup job run night after
night, the restore check after every night, and the lab's breaks."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..aws import AwsTarget, EmbeddedAWS, open_backend
from ..errors import ComponentError, InputError
from ..paths import LABS
from ..postgres import Postgres, client_tool, scram_verifier, start_postgres
from ..runtime import Run
from ..waiting import LOCALHOST
from .check import BackupReport
from .fetch import newest_key
from .restore import Scratch, count_rows
from .shop import SCALE, setup_database, trade
from .verify import verify

LAB = LABS / "06-backup-restore"
LAB_TAG = {"Key": "labkit:lab", "Value": "06-backup-restore"}
RPO_NIGHTS = 1.5  # the promise: never more than a night's data (and some slack) lost
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
    age_nights: float | None
    bad: bool  # the newest backup would not bring that night's data back (or is older than the RPO)

    def to_record(self) -> dict[str, Any]:
        """The night as plain data: what replay, the figure and the explorer read."""
        unreadable = next((f.detail for f in self.report.findings if f.kind == "unreadable"), None)
        errors = [f.detail for f in self.report.findings if f.kind == "restore_failed"]
        return {"night": self.night, "job_ran": self.job_ran, "job_exit": self.job_exit, "size": self.size,
                "age_nights": self.age_nights, "restored": self.report.restored, "tables": dict(self.report.tables),
                "unreadable": unreadable, "restore_errors": errors, "manifest": self.report.manifest, "kinds": self.report.kinds,
                "restore_seconds": self.report.restore_seconds, "truth": dict(self.truth), "bad": self.bad}


@dataclass
class BackupLab:
    """The shop's database, the bucket, the job (a copy of backup.sh) and every night so far."""

    run: Run
    target: AwsTarget
    prod: Postgres
    scratch: Scratch
    bucket: str
    night_seconds: float
    endpoint: EmbeddedAWS | None = None
    prefix: str = "nightly/"
    rpo_nights: float = RPO_NIGHTS
    scale: dict[str, int] = field(default_factory=lambda: dict(SCALE))
    database: str = "shop"  # what the job's PGDATABASE says
    history: list[Night] = field(default_factory=list)
    _next: float = 0.0

    @property
    def script(self) -> Path:
        """The job as it runs here: the lab's copy of labs/06-backup-restore/backup.sh."""
        return self.run.dir / "job" / "backup.sh"

    @property
    def source(self) -> str:
        """Where the backups go: what `labkit backup verify` is pointed at."""
        return f"s3://{self.bucket}/{self.prefix}"

    def s3(self) -> Any:
        """An S3 client for the lab's endpoint or account."""
        return self.target.client("s3")

    def job_env(self) -> dict[str, str]:
        """The job's environment, as a scheduler would set it (the password only in PGPASSFILE)."""
        venv_bin = str(Path(sys.executable).parent)
        env = {"PATH": os.pathsep.join([venv_bin, str(Path(client_tool("pg_dump")).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
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
    def _wait_for_night(self) -> None:
        delay = self._next - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._next = max(self._next, time.monotonic()) + self.night_seconds
        trade(self.prod, self.scale)

    def night(self) -> Night:
        """A night: the business day, the job (the real script), then the restore check on the newest backup."""
        self._wait_for_night()
        started = time.time()
        code, out = self.run.run_command(f"backup-night-{len(self.history) + 1}", ["bash", str(self.script)],
                                         env=self.job_env(), timeout=300)
        lines = [line for line in out.splitlines() if line.strip()]
        try:
            key, modified = newest_key(self.s3(), self.bucket, self.prefix)
            wrote = modified.timestamp() >= int(started)  # S3 keeps whole seconds
        except InputError:
            key, wrote = None, False
        size = self.s3().head_object(Bucket=self.bucket, Key=key)["ContentLength"] if wrote else None
        said = lines[-1] if lines else "(no output)"
        return self._record(True, code, said, key if wrote else None, size)

    def skip_nights(self, count: int) -> list[Night]:
        """The schedule silently stopped: the business goes on, the job does not; the check still runs."""
        last = next((n for n in reversed(self.history) if n.job_ran), None)
        said = f"(did not run; its last status: exit {last.job_exit if last else '-'})"
        nights = []
        for _ in range(count):
            self._wait_for_night()
            nights.append(self._record(False, None, said, None, None))
        return nights

    def _record(self, ran: bool, code: int | None, said: str, key: str | None, size: int | None) -> Night:
        report = self.verify()
        truth = count_rows(self.prod, "shop")
        age = None if report.backup_age_seconds is None else round(report.backup_age_seconds / self.night_seconds, 2)
        lost = any(report.tables.get(t, 0) < rows for t, rows in truth.items())
        # bad: this backup would not bring the data back - unreadable, failing, older than the RPO,
        # or (on a night the job ran) missing rows the database had when it dumped
        bad = (not report.restored or "restore_failed" in report.kinds or (ran and lost)
               or (age is not None and age > self.rpo_nights))
        night = Night(len(self.history) + 1, ran, code, said, key, size, report, truth, age, bad)
        self.history.append(night)
        return night

    def verify(self, source: str | None = None, expectations: dict[str, int] | None = None,
               max_age_nights: float | None | str = "rpo") -> BackupReport:
        """`labkit backup verify` on the newest backup (or source), with the lab's scratch server;
        the age limit is the lab's RPO unless given (None: no limit)."""
        nights = self.rpo_nights if max_age_nights == "rpo" else max_age_nights
        max_age = None if nights is None else float(nights) * self.night_seconds
        return verify(source or self.source, self.scratch, s3=self.s3(), expectations=expectations,
                      max_age_seconds=max_age)

    def cli_verify(self, *options: str) -> tuple[list[str], int, str]:
        """Run `labkit backup verify` on the newest backup as a CI job would, in its own process
        (with its own throwaway PostgreSQL): the command, its exit code and what it printed."""
        argv = ["labkit", "backup", "verify", self.source, "--max-age", f"{self.rpo_nights * self.night_seconds:g}s",
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


def _make_bucket(target: AwsTarget, run: Run) -> str:
    s3 = target.client("s3")
    name = f"labkit-backups-{secrets.token_hex(4)}"
    config = {} if target.region == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": target.region}}
    s3.create_bucket(Bucket=name, **config)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [LAB_TAG]})

    def remove() -> None:  # only the lab's own bucket, and only what is in it
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=name, Key=obj["Key"])
        s3.delete_bucket(Bucket=name)

    if target.backend == "aws":
        run.add_cleanup("the lab's S3 bucket", remove)
    return name


def start_lab(run: Run, backend: str = "local", profile: str | None = None, region: str = "us-east-1",
              allow_real_changes: bool = False, night_seconds: float = 3.0, rpo_nights: float = RPO_NIGHTS,
              scale: dict[str, int] | None = None) -> BackupLab:
    """Start PostgreSQL (production), the scratch server for restores, the AWS side and the bucket."""
    if night_seconds <= 0 or rpo_nights <= 0:
        raise InputError("night_seconds and rpo_nights must be positive")
    if shutil.which("aws", path=str(Path(sys.executable).parent)) is None and shutil.which("aws") is None:
        raise ComponentError("the aws CLI is not installed (pip install awscli; make setup does)")
    target, endpoint = open_backend(run, backend, region, profile,
                                    changes="creates an S3 bucket and writes backups to it", allow_real_changes=allow_real_changes)
    prod = start_postgres(run)
    password = secrets.token_urlsafe(24)
    scale = {**SCALE, **(scale or {})}
    setup_database(prod, scram_verifier(password), scale)
    job = run.dir / "job"
    job.mkdir(mode=0o700)
    shutil.copy(LAB / "backup.sh", job / "backup.sh")
    shutil.copy(LAB / "count-rows.sql", job / "count-rows.sql")
    prod.passfile(job / "pgpass", user="backup", password=password)
    scratch = Scratch(run)
    scratch.pg  # noqa: B018 - start it now, not in the first night's check
    return BackupLab(run, target, prod, scratch, _make_bucket(target, run), night_seconds, endpoint,
                     rpo_nights=rpo_nights, scale=scale)
