"""Lab 04 as functions the notebook calls: PostgreSQL, Secrets Manager, the cluster, the app; breaks; load."""

from __future__ import annotations

import itertools
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client

from ..aws import AwsTarget, EmbeddedAWS, open_backend
from ..cluster import rollout, start_cluster
from ..cluster.kubectl import kubectl
from ..errors import InputError
from ..postgres import Postgres, start_postgres
from ..runtime import Run, wait_until
from .check import (
    SECRET_ID,
    RotationResult,
    Target,
    VerifyResult,
    patch_k8s_secret,
    read_current,
    rotate,
    verify,
)
from .creds import audit_digest, fingerprint, new_password, secret_json, set_password

IMAGE = "labkit/secrets-app"
LAB_FILE = "secrets-lab.json"


@dataclass
class SecretsLab:
    run: Run
    target: Target
    pg: Postgres | None
    endpoint: EmbeddedAWS | None
    cluster: Any
    kubeconfig: str = ""  # what kubectl uses to look at the same cluster
    events: list[tuple[str, float]] = field(default_factory=list)  # (label, wall time) for plots

    def mark(self, label: str) -> None:
        self.events.append((label, time.time()))

    def verify(self) -> VerifyResult:
        return verify(self.target)

    def rotate(self, strategy: str = "single") -> RotationResult:
        self.mark(f"rotate ({strategy})")
        return rotate(self.target, strategy)

    def pods(self) -> list[str]:
        return [p.metadata.name for p in rollout.ready_pods(self.target.api_client, self.target.deployment,
                                                           self.target.namespace)]

    def drift_password(self) -> str:
        """Break 1: someone changes the database password behind the app's back (returns a fingerprint)."""
        self.mark("password changed in the database")
        password = new_password()
        self.target.passwords.append(password)
        current, _ = read_current(self.target)
        with self.target.db_admin() as conn:
            set_password(conn, current["username"], password)
        return fingerprint(password)

    def naive_rotation(self) -> str:
        """Break 2: what most scripts do - new password in Secrets Manager, the database and the Secret; stop."""
        self.mark("naive rotation")
        password = new_password()
        self.target.passwords.append(password)
        current, version = read_current(self.target)
        sm, sid = self.target.sm, self.target.secret_id
        # Staged explicitly (put AWSPENDING, move AWSCURRENT): moto mishandles a stage-less put
        # after earlier stage moves. What makes it naive is what comes after: nothing.
        new = sm.put_secret_value(SecretId=sid, SecretString=json.dumps({**current, "password": password}),
                                  VersionStages=["AWSPENDING"])["VersionId"]
        sm.update_secret_version_stage(SecretId=sid, VersionStage="AWSCURRENT", MoveToVersionId=new,
                                       RemoveFromVersionId=version)
        sm.update_secret_version_stage(SecretId=sid, VersionStage="AWSPENDING", RemoveFromVersionId=new)
        with self.target.db_admin() as conn:
            set_password(conn, current["username"], password)
        patch_k8s_secret(self.target, current["username"], password)
        return fingerprint(password)

    def pod_fingerprints(self) -> dict[str, str]:
        """Each Ready pod's DB_PASSWORD as a fingerprint, read inside the pod with `kubectl exec`.

        The password never leaves the pod: sha256sum runs there, kubectl carries only the digest.
        """
        script = 'printf %s "$DB_PASSWORD" | sha256sum'
        return {pod: "sha256:" + kubectl(self.kubeconfig, "exec", pod, "--", "sh", "-c", script).split()[0][:12]
                for pod in self.pods()}

    def current_fingerprint(self) -> str:
        """The fingerprint of the password AWSCURRENT holds."""
        return fingerprint(read_current(self.target)[0]["password"])

    def ports(self) -> list[int]:
        """Every port the lab listens on: PostgreSQL, the endpoint, the API server, the pods."""
        ports = [p for proc in self.run.processes for p in proc.ports.values()]
        if self.endpoint is not None:
            ports.append(self.endpoint.port)
        if self.cluster is not None:
            ports.append(int(self.cluster.url.rsplit(":", 1)[1]))
            ports += [p for r in list(self.cluster.pods.values()) for p in r.ports.values()]
        return sorted(set(ports))

    def audit_digests(self) -> list[str]:
        """Digests of every password this lab generated (for leak scans; never the passwords)."""
        return [audit_digest(p) for p in self.target.passwords]


class LoadGenerator:
    """Steady GETs of /orders, round-robin over the Ready pods, through the pod proxy; never retries.

    Open loop: enough workers that a slow answer (a 1 s pool timeout) never delays the next
    request, and each request picks its pod when it is sent, from the current Ready list."""

    def __init__(self, lab: SecretsLab, rate: float = 20.0, workers: int | None = None):
        self.lab, self.rate = lab, rate
        self.workers = workers or max(8, int(rate * 3))
        self.records: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._pods: list[str] = []
        self._threads: list[threading.Thread] = []
        self._in_flight: dict[int, float] = {}
        self._ids = itertools.count()
        self._rr = itertools.count()

    def _refresh(self) -> None:
        while not self._stop.is_set():
            try:
                self._pods = self.lab.pods()
            except Exception:
                self._pods = []
            self._stop.wait(0.1)

    def _one(self, key: int) -> None:
        try:
            pods = self._pods
            self._request(pods[next(self._rr) % len(pods)] if pods else None)
        finally:
            self._in_flight.pop(key, None)

    def _request(self, pod: str | None) -> None:
        t = time.time()
        if pod is None:
            self.records.append({"t": t, "pod": None, "status": None, "ok": False, "kind": "routing"})
            return
        kind = "ok"
        try:
            status, body = rollout.proxy_get(self.lab.target.api_client, pod, self.lab.target.port, "orders",
                                             self.lab.target.namespace, timeout=5)
            if status != 200:  # the app's own answer, or the API server's Status about the route
                kind = "routing" if b'"kind": "Status"' in body or b'"kind":"Status"' in body else "app"
        except OSError:
            status, kind = None, "routing"
        self.records.append({"t": t, "pod": pod, "status": status, "ok": status == 200, "kind": kind,
                             "ms": round((time.time() - t) * 1000, 1)})

    def _drive(self) -> None:
        with ThreadPoolExecutor(self.workers) as pool:
            next_at = time.monotonic()
            while not self._stop.is_set():
                key = next(self._ids)
                self._in_flight[key] = time.time()
                pool.submit(self._one, key)
                next_at += 1.0 / self.rate
                self._stop.wait(max(0.0, next_at - time.monotonic()))

    def __enter__(self) -> LoadGenerator:
        self._pods = self.lab.pods()
        for target in (self._refresh, self._drive):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)

    def drain(self, until: float, timeout: float = 30.0) -> None:
        """Wait until every request sent up to `until` has been answered (or has failed)."""
        wait_until(lambda: all(t > until for t in list(self._in_flight.values())), timeout=timeout,
                   what="requests in flight")

    def failures(self, since: float = 0.0, until: float = float("inf")) -> int:
        return sum(1 for r in self.records if since <= r["t"] <= until and not r["ok"])

    def count(self, since: float = 0.0, until: float = float("inf")) -> int:
        return sum(1 for r in self.records if since <= r["t"] <= until)


class Monitor:
    """Per pod, every `period` seconds: /healthz (what the probe sees) and /healthz/db (what users need)."""

    def __init__(self, lab: SecretsLab, period: float = 0.5):
        self.lab, self.period = lab, period
        self.records: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        api, ns, port = self.lab.target.api_client, self.lab.target.namespace, self.lab.target.port
        while not self._stop.is_set():
            t = time.time()
            try:
                pods = self.lab.pods()
            except Exception:
                pods = []
            for pod in pods:
                try:
                    h, _ = rollout.proxy_get(api, pod, port, "healthz", ns, timeout=3)
                    d, _ = rollout.proxy_get(api, pod, port, "healthz/db", ns, timeout=5)
                except OSError:
                    h = d = None
                self.records.append({"t": t, "pod": pod, "healthz": h == 200, "db": d == 200})
            self._stop.wait(self.period)

    def __enter__(self) -> Monitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def _deployment(replicas: int, db: dict[str, Any], pool_lifetime_s: float) -> dict[str, Any]:
    env = [{"name": "DB_HOST", "value": db["host"]}, {"name": "DB_PORT", "value": str(db["port"])},
           {"name": "DB_NAME", "value": "appdb"},
           {"name": "DB_USER", "valueFrom": {"secretKeyRef": {"name": "db-credentials", "key": "username"}}},
           {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-credentials", "key": "password"}}},
           {"name": "POOL_MAX_LIFETIME_S", "value": str(pool_lifetime_s)},
           {"name": "POOL_RECONNECT_TIMEOUT_S", "value": "3600"}]
    return {"metadata": {"name": "myapp", "labels": {"app": "myapp"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "myapp"}},
                     "template": {"metadata": {"labels": {"app": "myapp"}},
                                  "spec": {"terminationGracePeriodSeconds": 3, "containers": [{
                                      "name": "app", "image": IMAGE, "ports": [{"containerPort": 8080, "name": "http"}],
                                      "env": env,
                                      "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080},
                                                         "periodSeconds": 1}}]}}}}


def _database(pg: Postgres, users: tuple[str, str], passwords: dict[str, str]) -> None:
    with pg.connect() as conn:
        for user in users:
            conn.execute(f'CREATE ROLE "{user}" LOGIN')  # names are ours, fixed; passwords go as verifiers
            set_password(conn, user, passwords[user])
        conn.execute("CREATE DATABASE appdb")
    with pg.connect("appdb") as conn:
        conn.execute("CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL)")
        conn.execute("INSERT INTO orders (item) SELECT 'item-' || g FROM generate_series(1, 100) g")
        for user in users:
            conn.execute(f'GRANT SELECT ON orders TO "{user}"')


def start_lab(run: Run, aws_backend: str = "local", cluster_backend: str = "local", kubeconfig: str | None = None,
              profile: str | None = None, region: str = "us-east-1", replicas: int = 2,
              pool_lifetime_s: float = 3.0, log_statement: str = "none", allow_real_changes: bool = False,
              rollout_timeout: float = 60.0) -> SecretsLab:
    """PostgreSQL with appuser/appdb, the secret in Secrets Manager, the Kubernetes Secret, Deployment myapp."""
    users = ("appuser", "appuser_b")
    pg = start_postgres(run, log_statement=log_statement)
    passwords = {u: new_password() for u in users}
    _database(pg, users, passwords)
    db = {"host": "127.0.0.1", "port": pg.port}
    aws, endpoint = open_backend(run, aws_backend, region, profile, "creates and rotates a secret in your account",
                                 allow_real_changes)
    sm = aws.client("secretsmanager")
    sm.create_secret(Name=SECRET_ID, SecretString=secret_json(users[0], passwords[users[0]], engine="postgres",
                                                              dbname="appdb", **db),
                     Tags=[{"Key": "labkit:lab", "Value": "04-secrets-rotation"}])
    if aws_backend == "aws":
        run.add_cleanup("lab 04 secret", lambda: sm.delete_secret(SecretId=SECRET_ID, ForceDeleteWithoutRecovery=True))
    cluster = None
    if cluster_backend == "local":
        cluster = start_cluster(run)
        api_client = cluster.api_client()
        kubeconfig_path = str(cluster.kubeconfig)
    elif cluster_backend == "kubeconfig":
        if not kubeconfig:
            raise InputError("cluster_backend='kubeconfig' needs the kubeconfig path")
        from kubernetes import config as kube_config

        api_client = kube_config.new_client_from_config(config_file=kubeconfig)
        kubeconfig_path = kubeconfig
    else:
        raise InputError(f"unknown cluster backend {cluster_backend!r}: use local or kubeconfig")
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    core.create_namespaced_secret("default", {"metadata": {"name": "db-credentials"}, "type": "Opaque",
                                              "stringData": {"username": users[0], "password": passwords[users[0]]}})
    apps.create_namespaced_deployment("default", _deployment(replicas, db, pool_lifetime_s))
    target = Target(sm=sm, api_client=api_client, db_admin=lambda: pg.connect("postgres"), users=users,
                    rollout_timeout=rollout_timeout, passwords=list(passwords.values()))
    rollout.wait_rollout(api_client, "myapp", "default", timeout=rollout_timeout)
    _write_lab_file(run, pg, aws, kubeconfig_path)
    return SecretsLab(run, target, pg, endpoint, cluster, kubeconfig_path)


def _write_lab_file(run: Run, pg: Postgres, aws: AwsTarget, kubeconfig: str) -> None:
    """What `labkit secrets verify|rotate` needs to find the running lab (no password: a 0600 pgpass file)."""
    pgpass = run.dir / "pgpass"
    pgpass.touch(mode=0o600)
    pgpass.write_text(f"127.0.0.1:{pg.port}:*:{pg.superuser}:{pg._password}\n")
    info = {"endpoint_url": aws.endpoint_url, "region": aws.region, "profile": aws.profile,
            "kubeconfig": kubeconfig, "namespace": "default", "deployment": "myapp",
            "db_dsn": f"host=127.0.0.1 port={pg.port} dbname=postgres user={pg.superuser}", "pgpass": str(pgpass)}
    (run.dir / LAB_FILE).write_text(json.dumps(info, indent=2))


def failure_window(load: LoadGenerator, lab: SecretsLab, strategy: str) -> dict[str, Any]:
    """Rotate under steady load; count the failed requests sent between the first and the last step."""
    start = time.time()
    result = lab.rotate(strategy)
    end = time.time()
    load.drain(end)  # requests still in flight at the end belong to the window too
    return {"strategy": strategy, "ok": result.ok, "failed_step": result.failed_step,
            "failed": load.failures(start, end), "requests": load.count(start, end),
            "start": start, "end": end, "steps": result.step_times}


def check_readiness_exercise(lab: SecretsLab, patch: dict[str, Any], timeout: float = 20.0) -> bool:
    """The exercise checker: with the learner's probe, a password changed behind the app's back
    must take every pod out of Ready. Never raises."""
    try:
        apps = client.AppsV1Api(lab.target.api_client)
        apps.patch_namespaced_deployment(lab.target.deployment, lab.target.namespace, patch)
        rollout.wait_rollout(lab.target.api_client, lab.target.deployment, lab.target.namespace, timeout)
        if not lab.verify().ok:
            print("the patched pods do not verify: fix the credentials first")
            return False  # the new probe must still pass while the credentials are right
        lab.drift_password()
        wait_until(lambda: not lab.pods(), timeout=timeout, what="pods to leave Ready")
        return True
    except Exception as err:
        print(f"not passed: {err}")
        return False
