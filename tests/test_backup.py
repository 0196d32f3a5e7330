"""Lab 06: the restore check on real dumps (custom and plain, gzip or not, cut short, of an empty
database), each finding kind, the CLI's exit codes on files and on S3, and the lab's nights."""

from __future__ import annotations

import gzip
import json
import os
import subprocess

import pytest
from conftest import LABKIT

from labkit.backup.check import (
    Restored,
    judge,
    parse_duration,
    parse_expect,
    parse_manifest,
    table_name,
)
from labkit.backup.fetch import decode
from labkit.backup.replay import replay
from labkit.backup.restore import Scratch
from labkit.backup.verify import verify
from labkit.errors import InputError
from labkit.postgres import client_tool, start_postgres
from labkit.runtime import Run

# -- pure -------------------------------------------------------------------------------------------


def test_expectations_durations_and_manifests_parse_or_say_what_is_wrong():
    assert parse_expect(["orders=1000", "audit.events", "public.x=0"]) == {
        "public.orders": 1000, "audit.events": 0, "public.x": 0}
    for bad in (["orders=many"], ["a b=1"], ["=3"], ["orders=-1"]):
        with pytest.raises(InputError):
            parse_expect(bad)
    assert parse_duration("26h") == 93600 and parse_duration("1.5d") == 129600 and parse_duration("45s") == 45
    for bad in ("", "26", "h", "3 weeks"):
        with pytest.raises(InputError):
            parse_duration(bad)
    assert parse_manifest("public.orders\t12\nnot a line\npublic.x\tmany\ncustomers\t3\n") == {
        "public.orders": 12, "public.customers": 3}
    assert table_name("Orders") == "public.Orders"


def test_each_finding_kind_comes_from_what_was_seen():
    ok = judge("f", Restored({"public.orders": 10}), age_seconds=10, max_age_seconds=60,
               expectations={"public.orders": 5}, manifest={"public.orders": 10})
    assert not ok.has_findings and ok.restored and ok.to_dict()["tables"] == {"public.orders": 10}
    assert judge("f", Restored({"public.orders": 1}), age_seconds=61, max_age_seconds=60).kinds == ["too_old"]
    assert judge("f", None, unreadable="empty: 0 bytes").kinds == ["unreadable"]
    failed = judge("f", Restored({"public.orders": 1}, ["pg_restore: boom", "pg_restore: again"]))
    assert failed.kinds == ["restore_failed"] and "(and 1 more)" in failed.findings[0].detail
    cut = judge("f", Restored({}, ["pg_restore: could not read from input file: end of file"]))
    assert cut.kinds == ["unreadable", "empty"] and cut.findings[0].detail.startswith("truncated")
    short = judge("f", Restored({"public.orders": 3}), expectations={"public.orders": 5, "public.payments": 0},
                  manifest={"public.orders": 2, "public.customers": 9})
    assert short.kinds == ["missing_table", "too_few_rows"]
    assert {f.table for f in short.findings} == {"public.customers", "public.payments", "public.orders"}
    assert "expected at least 5" in next(f.detail for f in short.findings if f.table == "public.orders")
    assert judge("f", Restored({})).kinds == ["empty"]
    assert set(json.loads(json.dumps(short.to_dict()))) == {
        "source", "backup_age_seconds", "restored", "restore_seconds", "tables", "findings"}


def test_replay_says_which_nights_a_policy_would_have_caught():
    def night(n, **kw):
        row = {"night": n, "restored": True, "tables": {"public.orders": 100}, "restore_errors": [],
               "unreadable": None, "age_hours": 2, "manifest": {"public.orders": 100}, "bad": False}
        return row | kw

    history = [night(1), night(2, restored=False, tables={}, unreadable="empty", bad=True),
               night(3, age_hours=30), night(4, age_hours=50, bad=True),
               night(5, tables={"public.orders": 3}, manifest={"public.orders": 3}, bad=True)]
    default = replay(history, 36)
    assert default["flagged"] == [2, 4] and default["missed"] == [5] and default["false_alarms"] == []
    assert replay(history, 168)["missed"] == [4, 5]
    strict = replay(history, 24, ["orders=50"])
    assert strict["flagged"] == [2, 3, 4, 5] and strict["false_alarms"] == [3] and strict["missed"] == []
    assert replay(history, None, use_manifest=False)["flagged"] == [2]


def test_bytes_that_are_not_a_whole_dump_are_unreadable_and_say_why(tmp_path):
    def problem(data: bytes) -> str | None:
        path = tmp_path / "b"
        path.write_bytes(data)
        return decode(path, tmp_path).problem

    assert problem(b"").startswith("empty: 0 bytes")
    assert "after gunzip" in problem(gzip.compress(b""))
    assert problem(gzip.compress(os.urandom(50000))[:20000]).startswith("truncated: the gzip stream")
    assert problem(b"\x1f\x8b" + b"\x00" * 40).startswith("corrupt gzip")
    assert problem(b"hello\n").startswith("not a PostgreSQL dump")
    assert problem(bytes(range(256)) * 10).startswith("not a PostgreSQL dump")
    assert problem(b"--\n-- PostgreSQL database dump\n--\nCREATE TABLE t (a int);\nCOPY t (a) FROM stdin;\n1\n"
                   ).startswith("truncated: a plain dump ends with")


# -- real dumps -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dumps(tmp_path_factory):
    """A small database dumped by the real pg_dump, custom and plain, plain gzip-compressed, and an
    empty database's dump; plus a scratch server for restores."""
    out = tmp_path_factory.mktemp("dumps")
    with Run("test-backup") as run:
        pg = start_postgres(run, name="source-postgres")
        with pg.connect() as conn:
            conn.execute("CREATE ROLE app_owner NOLOGIN")
            conn.execute("CREATE DATABASE shop OWNER app_owner")
            conn.execute("CREATE DATABASE nothing")
        with pg.connect("shop") as conn:
            conn.execute("SET ROLE app_owner")
            conn.execute("CREATE TABLE orders (id int PRIMARY KEY, note text)")
            conn.execute("INSERT INTO orders SELECT g, repeat(md5(g::text), 20) FROM generate_series(1, 3000) g")
            conn.execute("CREATE TABLE customers (id int PRIMARY KEY)")
            conn.execute("INSERT INTO customers SELECT generate_series(1, 40)")
        env = {**os.environ, "PGPASSFILE": str(pg.passfile(run.dir / "pgpass")), "PGHOST": "127.0.0.1",
               "PGPORT": str(pg.port), "PGUSER": pg.superuser}

        def dump(db: str, *opts: str) -> bytes:
            return subprocess.run([client_tool("pg_dump"), *opts, db], env=env, capture_output=True,
                                  check=True, timeout=60).stdout

        files = {"custom": dump("shop", "-Fc", "-Z0"), "plain": dump("shop"), "empty": dump("nothing", "-Fc")}
        files["plain.gz"] = gzip.compress(files["plain"])
        files["custom.cut"] = files["custom"][: len(files["custom"]) * 2 // 3]
        files["plain.broken"] = files["plain"].replace(b"COPY public.orders", b"COPY public.no_such_table", 1)
        paths = {}
        for name, data in files.items():
            paths[name] = out / f"shop.{name}"
            paths[name].write_bytes(data)
        scratch = Scratch(run)
        yield paths, scratch


def test_a_whole_dump_restores_in_every_format_and_the_rows_are_counted(dumps):
    paths, scratch = dumps
    for name in ("custom", "plain", "plain.gz"):
        report = verify(str(paths[name]), scratch, expectations={"public.orders": 3000, "public.customers": 40})
        assert not report.has_findings, (name, report.findings)
        assert report.tables == {"public.customers": 40, "public.orders": 3000}
        assert report.restore_seconds > 0 and report.backup_age_seconds < 600
    # owned by a role the scratch server does not have: ownership is not the data
    assert "app_owner" in paths["plain"].read_text()


def test_each_broken_dump_gives_its_finding(dumps):
    paths, scratch = dumps
    cut = verify(str(paths["custom.cut"]), scratch)
    assert "unreadable" in cut.kinds and "truncated" in cut.findings[0].detail
    broken = verify(str(paths["plain.broken"]), scratch, expectations={"public.orders": 1})
    assert broken.kinds == ["restore_failed", "too_few_rows"]  # the table is there, its rows are not
    assert "no_such_table" in broken.findings[0].detail
    assert verify(str(paths["empty"]), scratch).kinds == ["empty"]
    assert verify(str(paths["custom"]), scratch, expectations={"public.orders": 5000}).kinds == ["too_few_rows"]
    missing = verify(str(paths["custom"]), scratch, expectations={"public.payments": 0, "audit.events": 1})
    assert missing.kinds == ["missing_table"] and {f.table for f in missing.findings} == {"public.payments", "audit.events"}
    assert verify(str(paths["custom"]), scratch, max_age_seconds=0.0).kinds == ["too_old"]
    paths["custom"].with_name(paths["custom"].name + ".manifest").write_text("public.orders\t3001\n")
    try:
        found = verify(str(paths["custom"]), scratch)
        assert found.kinds == ["too_few_rows"] and "the job counted at least 3001" in found.findings[0].detail
    finally:
        paths["custom"].with_name(paths["custom"].name + ".manifest").unlink()


def cli(*args: str, env: dict | None = None) -> tuple[int, str, str]:
    done = subprocess.run([*LABKIT, "backup", "verify", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})
    return done.returncode, done.stdout, done.stderr


def test_cli_exit_codes_on_files_and_nothing_left_behind(dumps):
    paths, _ = dumps
    runs = os.environ["LABKIT_RUNS_DIR"]
    before = {p for p in os.listdir(runs) if p.startswith("backup-verify-")}
    code, out, _ = cli(str(paths["plain.gz"]), "--expect", "orders=3000", "--max-age", "1h", "--json")
    assert code == 0 and json.loads(out)["tables"]["public.orders"] == 3000
    code, out, _ = cli(str(paths["custom.cut"]))
    assert code == 2 and "unreadable: truncated" in out
    for args, says in ((["/no/such/file"], "no such file"), ([str(paths["custom"]), "--expect", "x=y"], "MIN_ROWS"),
                       ([str(paths["custom"]), "--max-age", "soon"], "not a duration"), ([], "arguments")):
        code, _, err = cli(*args)
        assert code == 1 and says in err and "Traceback" not in err and len(err.strip().splitlines()) <= 2
    # the restored copy is production data: the CLI's run directory is gone, its server stopped
    assert {p for p in os.listdir(runs) if p.startswith("backup-verify-")} == before


def test_cli_on_s3_takes_the_newest_object_under_a_prefix(dumps):
    import time

    from labkit.aws import EmbeddedAWS

    paths, _ = dumps
    with Run("test-backup-s3") as run, EmbeddedAWS(run) as endpoint:
        s3 = endpoint.target().client("s3")
        s3.create_bucket(Bucket="backups")
        s3.upload_file(str(paths["custom"]), "backups", "nightly/shop-1.dump")
        time.sleep(1.1)  # S3 keeps whole seconds
        s3.upload_file(str(paths["custom.cut"]), "backups", "nightly/shop-2.dump")
        s3.put_object(Bucket="backups", Key="nightly/shop-2.dump.manifest", Body=b"public.orders\t3000\n")
        url = f"http://127.0.0.1:{endpoint.port}"
        creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        code, out, _ = cli("s3://backups/nightly/", "--endpoint-url", url, "--json", env=creds)
        report = json.loads(out)
        assert code == 2 and report["source"] == "s3://backups/nightly/shop-2.dump"
        assert report["findings"][0]["kind"] == "unreadable"  # and rows short of the manifest's
        code, out, _ = cli("s3://backups/nightly/shop-1.dump", "--endpoint-url", url, "--expect", "orders=3000",
                           env=creds)
        assert code == 0 and "verified" in out
        for source, says in (("s3://no-such-bucket/x/", "no such bucket"), ("s3://backups/nope/", "no backup under"),
                             ("s3://backups/nightly/shop-9.dump", "no such object")):
            code, _, err = cli(source, "--endpoint-url", url, env=creds)
            assert code == 1 and says in err and "Traceback" not in err


def test_the_real_aws_path_creates_fills_and_deletes_its_own_bucket(monkeypatch):
    """backend="aws" exactly as on a real account - no endpoint in labkit's target, the credential
    chain from the environment, a region that needs a LocationConstraint - with the environment's
    AWS_ENDPOINT_URL (which boto3 and the aws CLI both honour) sending the calls to a local S3."""
    from labkit.aws import EmbeddedAWS
    from labkit.backup.lab import start_lab

    with Run("test-backup-aws") as outside, EmbeddedAWS(outside) as endpoint:
        for name, value in (("AWS_ENDPOINT_URL", endpoint.url), ("AWS_ACCESS_KEY_ID", "testing"),
                            ("AWS_SECRET_ACCESS_KEY", "testing")):
            monkeypatch.setenv(name, value)
        s3 = endpoint.target("eu-west-1").client("s3")
        with Run("test-backup-lab") as run:
            with pytest.raises(InputError, match="allow_real_changes"):
                start_lab(run, backend="aws")
            lab = start_lab(run, backend="aws", allow_real_changes=True, region="eu-west-1",
                            scale={"customers": 50, "catalog": 10, "orders": 100})
            assert lab.target.endpoint_url is None and lab.endpoint is None
            night = lab.night()
            assert night.job_exit == 0 and not night.report.has_findings, night.report.findings
            assert s3.get_bucket_location(Bucket=lab.bucket)["LocationConstraint"] == "eu-west-1"
            tags = s3.get_bucket_tagging(Bucket=lab.bucket)["TagSet"]
            assert {"Key": "labkit:lab", "Value": "06-backup-restore"} in tags
        assert lab.bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_pipefail_makes_the_job_fail_the_grant_makes_it_work_and_the_exercise_checker_judges():
    from labkit.backup.lab import start_lab

    with Run("test-backup-pipefail") as run:
        lab = start_lab(run, scale={"customers": 50, "catalog": 10, "orders": 100})
        lab.migrate()
        lying = lab.night()
        assert (lying.job_exit, lying.size, lying.report.kinds) == (0, 20, ["unreadable"])
        assert "permission denied for table payments" in lab.job_log(lying)
        assert "backup complete" in lying.job_said and lying.bad
        lab.use_pipefail()
        honest = lab.night()
        assert honest.job_exit != 0 and "backup complete" not in lab.job_log(honest)
        lab.grant_backup()
        fixed = lab.night()
        assert fixed.job_exit == 0 and not fixed.report.has_findings and not fixed.bad
        assert fixed.report.tables["public.payments"] == fixed.truth["public.payments"] > 0
        from labkit.backup.lab import LAB

        # the run's copy of the job was fixed; labs/ keeps the one that lies
        assert "set -euo pipefail" in lab.script.read_text()
        assert "set -euo pipefail" not in (LAB / "backup.sh").read_text()
        # the exercise: a backup of the wrong database verifies - until the expectations say what production holds
        lab.point_job_at("shop_staging")
        wrong = lab.night()
        assert wrong.job_exit == 0 and not wrong.report.has_findings and wrong.bad
        from labkit.backup.exercise import check_expectations
        from labkit.exercises import LearnerCrash, load_solution

        passed, why, _ = check_expectations(lab, ["orders", "customers"], wrong.key, fixed.key)
        assert not passed and "still verifies" in why
        passed, why, _ = check_expectations(lab, ["orders=1000000"], wrong.key, fixed.key)
        assert not passed and "false alarm" in why
        assert check_expectations(lab, ["orders=50", "payments"], wrong.key, fixed.key)[0]
        solution = load_solution("06-backup-restore", "expectations")
        assert not check_expectations(lab, solution, wrong.key, fixed.key)[0]  # scale: 100 orders here
        with pytest.raises(LearnerCrash, match="MIN_ROWS"):
            check_expectations(lab, ["orders=many"], wrong.key, fixed.key)
        # the backup role's password lives in the job's PGPASSFILE and nowhere else the run wrote
        password = (lab.run.dir / "job" / "pgpass").read_text().strip().rsplit(":", 1)[1]
        assert len(password) > 20
        for log in lab.run.logs.iterdir():
            assert password not in log.read_text(errors="replace"), log.name
