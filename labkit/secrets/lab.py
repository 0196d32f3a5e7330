"""Lab 04 as functions the notebook calls: the manifests applied, Secrets Manager, breaks, load.

What runs on the cluster is labs/04-secrets-rotation/k8s/ as written: PostgreSQL (the
official image) behind the `postgres` Service and the app behind `myapp`. start_lab
changes only what the lab owns - fresh credentials in place of the placeholders, the
replica count, the pool's lifetime, the database's log_statement - and applies it.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client
from urllib3.exceptions import HTTPError as Urllib3Error

from ..aws import AwsTarget, EmbeddedAWS, open_backend
from ..cluster import Cluster, open_cluster
from ..errors import LabkitError
from ..kube import manifests, psql, rollout
from ..kube.kubectl import kubectl
from ..kube.load import Load, is_api_status
from ..paths import LABS
from ..runtime import Run
from ..waiting import wait_until
from .act import RotationResult, patch_k8s_secret, read_current, rotate
from .check import SECRET_ID, Target, VerifyResult, verify
from .creds import (
    audit_digest,
    fingerprint,
    new_password,
    scram_verifier,
    secret_json,
    set_password,
)

MANIFESTS = LABS / "04-secrets-rotation" / "k8s"
AUTH_FAILED = "password authentication failed"  # what PostgreSQL logs for each login it refuses
from .names import LAB_FILE  # noqa: E402 - re-exported


@dataclass
class SecretsLab:
    """Lab 04 running: the rotation target, the database, the cluster, and what happened when."""
    run: Run
    target: Target
    endpoint: EmbeddedAWS | None
    cluster: Cluster
    events: list[tuple[str, float]] = field(default_factory=list)  # (label, wall time) for plots

    def mark(self, label: str) -> None:
        """Note a moment for the figure (a rotation, a break)."""
        self.events.append((label, time.time()))

    def verify(self) -> VerifyResult:
        """Verify every Ready pod's database login."""
        return verify(self.target)

    def rotate(self, strategy: str = "single") -> RotationResult:
        """Rotate with this strategy (single or alternating)."""
        self.mark(f"rotate ({strategy})")
        return rotate(self.target, strategy)

    def pods(self) -> list[str]:
        """The Ready pods of the app."""
        return [p.metadata.name for p in rollout.ready_pods(self.target.api_client, self.target.deployment,
                                                           self.target.namespace)]

    def drift_password(self) -> str:
        """Break 1: someone changes the database password behind the app's back (returns a fingerprint)."""
        self.mark("password changed in the database")
        password = new_password()
        self.target.passwords.append(password)
        current, _ = read_current(self.target)
        set_password(self.target.db_admin, current["username"], password)
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
        set_password(self.target.db_admin, current["username"], password)
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

    @property
    def kubeconfig(self) -> str:
        """What kubectl uses to look at the same cluster."""
        return self.cluster.kubeconfig

    def sql(self, statement: str, database: str = "appdb") -> str:
        """SQL as the database superuser, by psql in the database's pod (never a password in it)."""
        return psql.psql(self.kubeconfig, statement, database)

    def refused_logins(self) -> int:
        """How many logins PostgreSQL has refused for a wrong password so far (its log, as kubectl logs shows it)."""
        core = client.CoreV1Api(self.target.api_client)
        pods = core.list_namespaced_pod(self.target.namespace, label_selector="app=postgres").items
        return sum(core.read_namespaced_pod_log(p.metadata.name, self.target.namespace, container="postgres")
                   .count(AUTH_FAILED) for p in pods)

    def ports(self) -> list[int]:
        """Every port the lab listens on here: the endpoint, processes, the local API server, pods, Services."""
        ports = self.run.ports()
        if self.endpoint is not None:
            ports.append(self.endpoint.port)
        return sorted(set(ports + self.cluster.local_ports()))

    def audit_digests(self) -> list[str]:
        """Digests of every password this lab generated (for leak scans; never the passwords)."""
        return [audit_digest(p) for p in self.target.passwords]


def start_load(lab: SecretsLab, rate: float = 20.0) -> Load:
    """Users, started: GET /orders through the myapp Service at a steady rate, until .stop() or the run ends."""
    return Load(lab.run, lab.target.api_client, ["myapp:http"], "/orders", rate=rate, timeout=5.0,
                namespace=lab.target.namespace).start()


def _sample(api: Any, pod: str, port: int, path: str, namespace: str, timeout: float) -> bool | None:
    """The pod answered 200 (True) or something else (False); None when the monitor could not ask
    - a timeout or transport error on its side, or the API server answering for the pod (a Status:
    the pod went away between the listing and the sample): a missing sample, not the endpoint failing."""
    try:
        status, body = rollout.proxy_get(api, pod, port, path, namespace, timeout=timeout)
    except (OSError, Urllib3Error):
        return None
    if status != 200 and is_api_status(body):
        return None
    return status == 200


class Monitor:
    """Per pod, every `period` seconds: /healthz (what the probe sees) and /healthz/db (what users need)."""

    def __init__(self, lab: SecretsLab, period: float = 0.5):
        self.lab, self.period = lab, period
        self.records: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        lab.run.add_cleanup("pod monitor", self.stop)

    def _loop(self) -> None:
        api, ns, port = self.lab.target.api_client, self.lab.target.namespace, self.lab.target.port
        while not self._stop.is_set():
            t = time.time()
            try:
                pods = self.lab.pods()
            except (OSError, LabkitError, Urllib3Error):  # the API server is away: a sample with no pods
                pods = []
            for pod in pods:
                self.records.append({"t": t, "pod": pod, "healthz": _sample(api, pod, port, "healthz", ns, 3),
                                     "db": _sample(api, pod, port, "healthz/db", ns, 5)})
            self._stop.wait(self.period)

    def start(self) -> Monitor:
        """Start sampling in the background; the monitor itself."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sampling (idempotent; the run's clean-up calls it too)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def __enter__(self) -> Monitor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_lab(run: Run, aws_backend: str = "local", cluster_backend: str = "local", kubeconfig: str | None = None,
              profile: str | None = None, region: str = "us-east-1", replicas: int = 2,
              pool_lifetime_s: float = 3.0, log_statement: str = "none", allow_real_changes: bool = False,
              rollout_timeout: float = 60.0, image: str | None = None) -> SecretsLab:
    """The secret in Secrets Manager, then labs/04-secrets-rotation/k8s/ applied with fresh credentials."""
    users = ("appuser", "appuser_b")
    passwords = {u: new_password() for u in users}
    admin_password = new_password()
    aws, endpoint = open_backend(run, aws_backend, region, profile, "creates and rotates a secret in your account",
                                 allow_real_changes)
    cluster = open_cluster(run, cluster_backend, kubeconfig)
    sm = aws.client("secretsmanager")
    sm.create_secret(Name=SECRET_ID, SecretString=secret_json(users[0], passwords[users[0]], engine="postgres",
                                                              dbname="appdb", host="postgres", port=5432),
                     Tags=[{"Key": "labkit:lab", "Value": "04-secrets-rotation"}])
    if aws_backend == "aws":
        run.add_cleanup("lab 04 secret", lambda: sm.delete_secret(SecretId=SECRET_ID, ForceDeleteWithoutRecovery=True))

    objects = manifests.read(MANIFESTS)  # exactly the YAML a learner reads; only these parameters change:
    manifests.set_secret(objects, "postgres-credentials", {"password": admin_password,
                                                           "appuser-scram": scram_verifier(passwords[users[0]])})
    manifests.set_secret(objects, "db-credentials", {"username": users[0], "password": passwords[users[0]]})
    manifests.container(objects, "postgres")["args"] = ["-c", f"log_statement={log_statement}"]
    manifests.set_replicas(objects, "myapp", replicas)
    manifests.set_env(objects, "myapp", {"POOL_MAX_LIFETIME_S": str(pool_lifetime_s)})
    if image:
        manifests.set_image(objects, "myapp", image)
    created: list[dict] = []
    if cluster.local is None:  # a real cluster keeps what the lab applied: remove it with the run
        run.add_cleanup("lab 04 objects", lambda: manifests.delete(cluster.api_client, created))
    manifests.apply(cluster.api_client, objects, existing="fail", created=created)
    target = Target(sm=sm, api_client=cluster.api_client, db_admin=psql.admin(cluster.kubeconfig, "appdb"),
                    users=users, rollout_timeout=rollout_timeout,
                    passwords=[*passwords.values(), admin_password])
    rollout.wait_rollout(cluster.api_client, "postgres", "default", timeout=rollout_timeout)
    rollout.wait_rollout(cluster.api_client, "myapp", "default", timeout=rollout_timeout)
    _write_lab_file(run, aws, cluster.kubeconfig)
    return SecretsLab(run, target, endpoint, cluster)


def _write_lab_file(run: Run, aws: AwsTarget, kubeconfig: str) -> None:
    """What `labkit secrets verify|rotate` needs to find the running lab (no secret in it)."""
    info = {"endpoint_url": aws.endpoint_url, "region": aws.region, "profile": aws.profile,
            "kubeconfig": kubeconfig, "namespace": "default", "deployment": "myapp", "database": "deploy/postgres"}
    (run.dir / LAB_FILE).write_text(json.dumps(info, indent=2))


def failure_window(load: Load, lab: SecretsLab, strategy: str) -> dict[str, Any]:
    """Rotate under steady load; count the failed requests sent between the first and the last step."""
    core = client.CoreV1Api(lab.target.api_client)
    wait_until(lambda: not any(p.metadata.deletion_timestamp for p in core.list_namespaced_pod(
        lab.target.namespace, label_selector="app=myapp").items), timeout=60,
        what="the pods of the last restart to be gone (their logins would count in this window)")
    refused_before = lab.refused_logins()
    start = time.time()
    result = lab.rotate(strategy)
    end = time.time()
    load.drain(end)  # requests still in flight at the end belong to the window too
    return {"strategy": strategy, "ok": result.ok, "failed_step": result.failed_step,
            "failed": load.failures(start, end), "failed_by": load.failure_kinds(start, end),
            # logins PostgreSQL refused meanwhile, from its own log: the rotation's failures, not the load's
            "refused_logins": lab.refused_logins() - refused_before,
            "requests": load.count(start, end),
            "start": start, "end": end, "steps": result.step_times}
