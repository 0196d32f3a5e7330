"""Lab 04 end to end: verify, rotate, both breaks, fault injection at each step, the password audit."""

from __future__ import annotations

import json
import os
import subprocess

import psycopg
import pytest
from conftest import LABKIT, file_contents
from kubernetes import client

from labkit.exercises import LearnerCrash
from labkit.kube import psql, rollout
from labkit.runtime import Run
from labkit.secrets.act import read_current
from labkit.secrets.check import verify
from labkit.secrets.creds import (
    audit_digest,
    b64,
    find_leaks,
    fingerprint,
    new_password,
    set_password,
)
from labkit.secrets.exercise import check_probe_exercise, outage_verdict, restore_probes
from labkit.secrets.lab import start_lab
from labkit.waiting import port_is_listening, wait_until


def test_passwords_fingerprints_and_the_leak_finder():
    pw = new_password()
    assert len(pw) == 32 and any(c in pw for c in "$'\"!%")
    assert fingerprint(pw).startswith("sha256:") and pw not in fingerprint(pw)
    digests = [audit_digest(pw)]
    for blob in (pw.encode(), json.dumps({"p": pw}).encode(), b64(pw).encode(),
                 b64(json.dumps({"username": "u", "password": pw})).encode(), b"x=" + pw.encode() + b"\n"):
        assert find_leaks(blob, digests), blob
    assert find_leaks(b"nothing to see here " * 20 + fingerprint(pw).encode(), digests) == []


@pytest.fixture
def lab():
    with Run("test-lab04") as run:
        lab = start_lab(run, log_statement="all", rollout_timeout=30)
        yield lab
        ports = lab.ports()
    for port in ports:
        assert not port_is_listening(port)


def stages(lab) -> dict[str, list[str]]:
    versions = lab.target.sm.list_secret_version_ids(SecretId=lab.target.secret_id)["Versions"]
    return {v["VersionId"]: v.get("VersionStages", []) for v in versions}


def test_when_rotated_then_every_pod_authenticates_and_only_then_the_new_version_is_current(lab):
    assert lab.verify().ok
    before, old_version = read_current(lab.target)
    result = lab.rotate("single")
    assert result.ok and result.exit_code == 0 and [s.name for s in result.steps][-1] == "promote"
    assert lab.verify().ok
    now, version = read_current(lab.target)
    assert version == result.new_version and now["password"] != before["password"]
    assert "AWSPREVIOUS" in stages(lab)[old_version]
    assert "AWSPENDING" not in stages(lab)[version]


def test_when_the_password_changes_behind_the_app_then_pods_stay_ready_and_verify_names_them_all(lab):
    pods = lab.pods()
    lab.drift_password()
    assert sorted(lab.pods()) == sorted(pods)
    for pod in pods:
        assert rollout.proxy_get(lab.target.api_client, pod, 8080, "healthz")[0] == 200
    result = verify(lab.target)
    assert sorted(result.failing) == sorted(pods)
    assert all(c.auth_failed and c.attempts == 1 for c in result.checks)  # no retrying an auth failure
    assert lab.rotate().ok and lab.verify().ok


def test_when_the_naive_rotation_runs_then_verify_catches_every_pod(lab):
    pods = lab.pods()
    lab.naive_rotation()
    assert sorted(lab.pods()) == sorted(pods)  # nothing restarted: still Ready on the old environment
    assert sorted(lab.verify().failing) == sorted(pods)
    assert lab.rotate().ok
    assert sum("AWSCURRENT" in st for st in stages(lab).values()) == 1


def database_port(lab) -> int:
    """Where the local cluster's postgres Service listens (this test reaches the database directly)."""
    svc = lab.cluster.local.store.get("services", "default", "postgres")
    return json.loads(svc["metadata"]["annotations"]["labkit.dev/ports"])["5432"]


def test_alternating_users_switch_the_user_and_leave_the_old_login_working(lab):
    before, _ = read_current(lab.target)
    result = lab.rotate("alternating")
    assert result.ok and result.user == "appuser_b"
    with psycopg.connect(host="127.0.0.1", port=database_port(lab), dbname="appdb", user="appuser",
                         password=before["password"], connect_timeout=5) as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 100
    assert lab.rotate("alternating").user == "appuser"


def test_when_the_database_is_unreachable_then_the_step_is_named_and_nothing_changed(lab):
    before, version = read_current(lab.target)
    lab.target.db_admin = psql.admin(lab.kubeconfig, "appdb", "deploy/no-such-database")
    result = lab.rotate()
    assert (result.ok, result.failed_step, result.exit_code) == (False, "set_db_password", 1)
    assert "AWSCURRENT" in result.recovery and read_current(lab.target)[1] == version
    assert lab.verify().ok  # the working credential was never touched


def test_when_the_secret_patch_is_refused_then_the_database_password_is_put_back(lab):
    _, version = read_current(lab.target)
    lab.cluster.local.inject_fault("PATCH", "/api/v1/namespaces/default/secrets/db-credentials", 500)
    result = lab.rotate()
    assert (result.failed_step, result.exit_code) == ("update_k8s_secret", 1)
    assert "set back" in result.recovery and read_current(lab.target)[1] == version
    assert lab.verify().ok  # pods and database agree again on the old credential
    assert lab.rotate().ok  # and the next attempt goes through


def test_when_the_rollout_times_out_then_the_new_credential_stays_recoverable(lab):
    _, version = read_current(lab.target)
    lab.target.rollout_timeout = 0.05
    result = lab.rotate()
    assert (result.failed_step, result.exit_code) == ("wait_rollout", 1)
    assert read_current(lab.target)[1] == version  # not promoted
    pending = lab.target.sm.get_secret_value(SecretId=lab.target.secret_id, VersionStage="AWSPENDING")
    assert pending["VersionId"] == result.new_version and "AWSPENDING" in result.recovery
    rollout.wait_rollout(lab.target.api_client, "myapp", timeout=30)
    assert lab.verify().ok  # once the rollout completes, every pod works with the AWSPENDING credential


def test_when_verification_fails_then_exit_2_and_nothing_is_promoted(lab):
    _, version = read_current(lab.target)
    original = lab.target.db_admin

    def sabotage(sql: str) -> str:  # the rotation's ALTER ROLE goes through, then someone changes it again
        out = original(sql)
        set_password(original, "appuser", new_password())
        return out

    lab.target.db_admin = sabotage
    result = lab.rotate()
    assert (result.failed_step, result.exit_code) == ("verify", 2)
    assert sorted(result.verify.failing) == sorted(lab.pods())
    assert read_current(lab.target)[1] == version


def test_the_password_never_leaks_into_logs_sql_files_or_process_arguments(lab):
    lab.drift_password()
    lab.rotate("single")
    lab.naive_rotation()
    lab.rotate("alternating")
    lab.cluster.local.inject_fault("PATCH", "/api/v1/namespaces/default/secrets/db-credentials", 500)
    lab.rotate("single")
    digests = lab.audit_digests()
    assert len(digests) >= 6
    args = subprocess.run(["ps", "-eo", "args"], capture_output=True).stdout
    assert find_leaks(args, digests) == []
    log = b"".join(p.read_bytes() for p in lab.run.logs.glob("default.postgres-*.out"))
    assert b"ALTER ROLE" in log and b"SCRAM-SHA-256$4096:" in log  # log_statement=all saw the SQL ...
    assert find_leaks(log, digests) == []  # ... and only the verifier
    for path, data in file_contents(lab.run.dir):
        assert find_leaks(data, digests) == [], path


def cli(lab, *args, env=None):
    proc = subprocess.run([*LABKIT, "secrets", *args, "--lab-dir", str(lab.run.dir), "--json"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})})
    return proc.returncode, (json.loads(proc.stdout) if proc.stdout.strip() else None), proc.stderr


def test_cli_verify_and_rotate_exit_codes(lab):
    code, out, _ = cli(lab, "verify")
    assert code == 0 and out["ok"]
    lab.drift_password()
    code, out, _ = cli(lab, "verify")
    assert code == 2 and sorted(out["failing_pods"]) == sorted(lab.pods())
    code, out, err = cli(lab, "rotate", "--strategy", "alternating")
    assert code == 0 and out["ok"] and out["user"] == "appuser_b", err
    lab.cluster.local.inject_fault("PATCH", "/api/v1/namespaces/default/secrets/db-credentials", 500)
    code, out, _ = cli(lab, "rotate")
    assert code == 1 and out["failed_step"] == "update_k8s_secret"
    code, _, err = cli(lab, "verify", "--kubeconfig", str(lab.run.dir / "no-such-kubeconfig"))
    assert code == 1 and "no such kubeconfig" in err and "Traceback" not in err


def test_the_probe_exercise_fails_a_liveness_probe_on_the_database_and_calls_a_refused_patch_a_crash(lab):
    # a startup probe on the HTTP server holds the liveness probe back until the app listens (a
    # loaded machine once took longer than 2 s to start it: the liveness probe alone killed it
    # before it ever listened, and the rollout stalled)
    on_db = {"httpGet": {"path": "/healthz/db", "port": "http"}, "periodSeconds": 1, "failureThreshold": 2}
    started = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1, "failureThreshold": 60}
    passed, why, seen = check_probe_exercise(lab, {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "livenessProbe": on_db, "startupProbe": started}]}}}})
    outage = {s.name: s for s in seen}["database outage"]
    assert not passed and not outage.passed and "container restarts" in why
    assert lab.verify().ok  # the checker leaves the app working, the Secret as it was
    with pytest.raises(LearnerCrash, match="422|Unprocessable|successThreshold"):
        check_probe_exercise(lab, {"spec": {"template": {"spec": {"containers": [
            {"name": "app", "livenessProbe": {**on_db, "successThreshold": 2}}]}}}})
    # a probe that kills the app for good (as one on the database does to an app slower to start
    # than its threshold): the checker puts the manifest's probes back and the lab goes on
    apps = client.AppsV1Api(lab.target.api_client)
    apps.patch_namespaced_deployment("myapp", "default", {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "livenessProbe": {"exec": {"command": ["false"]}, "periodSeconds": 1,
                                          "failureThreshold": 1}}]}}}})
    wait_until(lambda: sum(s.restart_count for p in client.CoreV1Api(lab.target.api_client).list_namespaced_pod(
        "default", label_selector="app=myapp").items for s in p.status.container_statuses or []) >= 2,
        timeout=30, what="the app to be restarted by its liveness probe")
    restore_probes(lab)
    live = apps.read_namespaced_deployment("myapp", "default").spec.template.spec.containers[0].liveness_probe
    assert live is None and lab.verify().ok


def test_an_outage_the_pods_never_came_back_from_fails_and_says_so():
    seen = outage_verdict(6, 2, 1, 4, False, 30)
    assert not seen.passed and not seen.app_serving
    assert "4 container restarts" in seen.detail and "not every pod was Ready 30 s after" in seen.detail
    fine = outage_verdict(6, 2, 2, 0, True, 30)
    assert fine.passed and fine.app_serving and " - " not in fine.detail
    assert "no Ready pod left" in outage_verdict(6, 2, 0, 0, True, 30).detail


def test_a_sample_the_monitor_could_not_take_is_no_failure_and_resets_nothing():
    from labkit.secrets.replay import replay

    rows = [{"t": t, "pod": "p", "healthz": ok, "db": ok} for t, ok in
            [(1, True), (2, None), (3, True), (4, False), (5, None), (6, False), (7, True)]]
    assert replay(rows, 0, "healthz", 1)["pods_flagged"] == 1  # the failed answer at t=4
    assert replay(rows, 0, "healthz", 2)["seconds_to_detect"] == 6  # 4 and 6 in a row: None in between
    assert replay([r | {"healthz": None if not r["healthz"] else True} for r in rows], 0, "healthz", 1)[
        "pods_flagged"] == 0


def test_the_api_servers_own_answer_for_a_pod_is_no_sample_of_the_app():
    from labkit.kube.load import is_api_status

    gone = b'{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"ServiceUnavailable","code":503}'
    assert is_api_status(gone) and is_api_status(gone.replace(b":", b": "))
    assert not is_api_status(b'{"ok": false, "reason": "password authentication failed"}')
