"""Lab 04's checks: verify every pod reaches the database, and rotate only when that is proven.

verify: ``/healthz/db`` on every Ready pod through the pod proxy; transient errors are
retried until a deadline, an authentication failure fails at once.
rotate: AWSPENDING -> database -> Kubernetes Secret -> rolling restart -> wait ->
verify every pod -> promote AWSPENDING to AWSCURRENT.  A failed step is named; the
previous credential stays AWSCURRENT until the very end, so it is always recoverable.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import botocore.exceptions
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ..aws import explain_aws_error
from ..errors import LabkitError
from ..kube import rollout
from .creds import b64, fingerprint, new_password, set_password
from .names import SECRET_ID  # noqa: E402,F401 - re-exported

AUTH_FAILED = "password authentication failed"


@dataclass
class Target:
    """Where the credential lives: Secrets Manager, the database, the cluster."""

    sm: Any  # a boto3 secretsmanager client
    api_client: Any  # a kubernetes ApiClient
    db_admin: Callable[[str], str]  # runs SQL as the database superuser (psql in the database's pod)
    secret_id: str = SECRET_ID
    namespace: str = "default"
    deployment: str = "myapp"
    k8s_secret: str = "db-credentials"
    users: tuple[str, str] = ("appuser", "appuser_b")
    rollout_timeout: float = 60.0
    verify_deadline: float = 10.0
    port: int = 8080
    on_step: Callable[[str, float], None] | None = None  # called as each step starts (for plots)
    passwords: list[str] = field(default_factory=list, repr=False)  # generated here, kept for audits only


@dataclass
class PodCheck:
    """One pod's answer to verify: could it open a database connection with its credentials."""
    pod: str
    ok: bool
    status: int | None
    reason: str
    auth_failed: bool
    attempts: int


@dataclass
class VerifyResult:
    """What verify found over the Ready pods."""
    checks: list[PodCheck]

    @property
    def ok(self) -> bool:
        """Every Ready pod connected (and there was at least one)."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failing(self) -> list[str]:
        """The pods that could not connect."""
        return [c.pod for c in self.checks if not c.ok]

    def to_dict(self) -> dict[str, Any]:
        """The `--json` output."""
        return {"ok": self.ok, "failing_pods": self.failing, "pods": [asdict(c) for c in self.checks]}


def _check_pod(target: Target, pod: str) -> PodCheck:
    deadline = time.monotonic() + target.verify_deadline
    attempts, status, reason = 0, None, ""
    while True:
        attempts += 1
        try:
            status, body = rollout.proxy_get(target.api_client, pod, target.port, "healthz/db", target.namespace,
                                             timeout=5)
            try:
                answer = json.loads(body)
            except ValueError:
                answer = {"reason": body[:200].decode(errors="replace")}
            if status == 200 and answer.get("ok"):
                return PodCheck(pod, True, status, "", False, attempts)
            reason = str(answer.get("reason") or answer.get("message") or f"HTTP {status}")
            if answer.get("auth_failed") or AUTH_FAILED in reason:
                return PodCheck(pod, False, status, reason, True, attempts)  # no retry can fix that
        except (OSError, ApiException) as err:
            status, reason = None, f"pod unreachable: {err}"
        if time.monotonic() > deadline:
            return PodCheck(pod, False, status, reason, False, attempts)
        time.sleep(0.25)


def verify(target: Target) -> VerifyResult:
    """Every Ready pod must open a new database connection with its current credentials."""
    pods = [p.metadata.name for p in rollout.ready_pods(target.api_client, target.deployment, target.namespace)]
    if not pods:
        return VerifyResult([PodCheck("(none)", False, None, "no Ready pods to verify: no data is not healthy",
                                      False, 0)])
    with ThreadPoolExecutor(len(pods)) as pool:
        return VerifyResult(list(pool.map(lambda p: _check_pod(target, p), pods)))


@dataclass
class Step:
    """One rotation step: its name, outcome, duration and detail."""
    name: str
    ok: bool
    seconds: float
    detail: str = ""


@dataclass
class RotationResult:
    """A rotation: every step, the one that failed, and which users it touched."""
    strategy: str
    ok: bool = False
    failed_step: str | None = None
    steps: list[Step] = field(default_factory=list)
    user: str | None = None
    previous_version: str | None = None
    new_version: str | None = None
    fingerprint: str | None = None
    verify: VerifyResult | None = None
    recovery: str = ""
    step_times: list[tuple[str, float]] = field(default_factory=list)  # wall clock, for plots

    @property
    def exit_code(self) -> int:
        """0 rotated and verified; 2 the new credential did not verify; 1 another step failed."""
        if self.ok:
            return 0
        return 2 if self.failed_step == "verify" else 1

    def to_dict(self) -> dict[str, Any]:
        """The `--json` output."""
        return {"strategy": self.strategy, "ok": self.ok, "failed_step": self.failed_step,
                "steps": [asdict(s) for s in self.steps], "user": self.user,
                "previous_version": self.previous_version, "new_version": self.new_version,
                "fingerprint": self.fingerprint, "verify": self.verify.to_dict() if self.verify else None,
                "recovery": self.recovery}


class _StepFailed(Exception):
    pass


def _sm_call(fn: Callable, action: str, **kwargs: Any) -> dict:
    try:
        return fn(**kwargs)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as err:
        raise explain_aws_error(err, action) from None


def read_current(target: Target) -> tuple[dict[str, Any], str]:
    """The AWSCURRENT secret value (JSON) and its version id.

    Always name the stage: moto (unlike AWS) answers a stage-less GetSecretValue with
    the version last written by PutSecretValue, not the one UpdateSecretVersionStage
    made current."""
    resp = _sm_call(target.sm.get_secret_value, "secretsmanager:GetSecretValue", SecretId=target.secret_id,
                    VersionStage="AWSCURRENT")
    try:
        value = json.loads(resp["SecretString"])
    except (KeyError, ValueError):
        raise LabkitError(f"{target.secret_id}: AWSCURRENT is not a JSON secret") from None
    if not value.get("username") or not value.get("password"):
        raise LabkitError(f"{target.secret_id}: AWSCURRENT has no username/password")
    return value, resp["VersionId"]


def patch_k8s_secret(target: Target, username: str, password: str) -> None:
    """Write the username and password into the Kubernetes Secret the pods read."""
    core = client.CoreV1Api(target.api_client)
    core.patch_namespaced_secret(target.k8s_secret, target.namespace,
                                 {"data": {"username": b64(username), "password": b64(password)}})


def rotate(target: Target, strategy: str = "single") -> RotationResult:
    """The full rotation; every step is timed and a failure names its step."""
    if strategy not in ("single", "alternating"):
        raise LabkitError(f"unknown strategy {strategy!r}: use single or alternating")
    result = RotationResult(strategy)
    state: dict[str, Any] = {"db_changed": False, "secret_changed": False}

    def step(name: str, fn: Callable[[], str | None]) -> None:
        result.step_times.append((name, time.time()))
        if target.on_step:
            target.on_step(name, time.time())
        start = time.monotonic()
        try:
            detail = fn() or ""
        except (LabkitError, ApiException, botocore.exceptions.BotoCoreError,
                botocore.exceptions.ClientError, OSError) as err:
            message = _one_line(err)
            result.steps.append(Step(name, False, time.monotonic() - start, message))
            result.failed_step = name
            raise _StepFailed(message) from None
        result.steps.append(Step(name, True, time.monotonic() - start, detail))

    current: dict[str, Any] = {}
    new: dict[str, Any] = {}

    def read() -> str:
        value, version = read_current(target)
        current.update(value)
        result.previous_version = version
        return f"AWSCURRENT is version {version} for user {value['username']} ({fingerprint(value['password'])})"

    def create_pending() -> str:
        user = current["username"]
        if strategy == "alternating":
            user = target.users[1] if user == target.users[0] else target.users[0]
        password = new_password()
        target.passwords.append(password)
        new.update(current, username=user, password=password)
        resp = _sm_call(target.sm.put_secret_value, "secretsmanager:PutSecretValue", SecretId=target.secret_id,
                        ClientRequestToken=str(uuid.uuid4()), SecretString=json.dumps(new),
                        VersionStages=["AWSPENDING"])
        result.new_version, result.user, result.fingerprint = resp["VersionId"], user, fingerprint(password)
        return f"AWSPENDING is version {resp['VersionId']} for user {user} ({result.fingerprint})"

    def set_db() -> str:
        set_password(target.db_admin, new["username"], new["password"])
        state["db_changed"] = True
        return f"ALTER ROLE {new['username']} with a client-side SCRAM verifier"

    def update_secret() -> str:
        patch_k8s_secret(target, new["username"], new["password"])
        state["secret_changed"] = True
        return f"Secret {target.k8s_secret} now holds {new['username']} ({result.fingerprint})"

    def restart() -> str:
        return "restartedAt=" + rollout.restart(target.api_client, target.deployment, target.namespace)

    def wait() -> str:
        waited = rollout.wait_rollout(target.api_client, target.deployment, target.namespace, target.rollout_timeout)
        return f"rollout complete after {waited:.1f} s"

    def check() -> str:
        result.verify = verify(target)
        if not result.verify.ok:
            raise LabkitError(f"verification failed on {', '.join(result.verify.failing)}: "
                              f"{result.verify.checks[0].reason}")
        return f"{len(result.verify.checks)} pods authenticated with the new credential"

    def promote() -> str:
        _sm_call(target.sm.update_secret_version_stage, "secretsmanager:UpdateSecretVersionStage",
                 SecretId=target.secret_id, VersionStage="AWSCURRENT", MoveToVersionId=result.new_version,
                 RemoveFromVersionId=result.previous_version)
        _sm_call(target.sm.update_secret_version_stage, "secretsmanager:UpdateSecretVersionStage",
                 SecretId=target.secret_id, VersionStage="AWSPENDING", RemoveFromVersionId=result.new_version)
        return f"AWSCURRENT is version {result.new_version}; {result.previous_version} is AWSPREVIOUS"

    try:
        for name, fn in (("read_current", read), ("create_pending", create_pending), ("set_db_password", set_db),
                         ("update_k8s_secret", update_secret), ("rolling_restart", restart),
                         ("wait_rollout", wait), ("verify", check), ("promote", promote)):
            step(name, fn)
        result.ok = True
        result.recovery = f"the previous credential is AWSPREVIOUS (version {result.previous_version})"
    except _StepFailed:
        result.recovery = _recovery(target, result, current, state)
    return result


def _recovery(target: Target, result: RotationResult, current: dict, state: dict) -> str:
    """Leave a working credential and say where it is."""
    prev = f"AWSCURRENT (version {result.previous_version})"
    if not state["db_changed"]:
        return f"nothing changed in the database or the cluster: {prev} is still the working credential"
    if not state["secret_changed"] and result.strategy == "single":
        try:  # the pods still use the old password: put it back in the database
            set_password(target.db_admin, current["username"], current["password"])
            return f"the database password was set back to {prev}; pods were never changed"
        except LabkitError as err:
            return (f"could not set the database password back ({_one_line(err)}): restore it from {prev} "
                    "with `labkit secrets rotate` once the database answers")
    if result.strategy == "alternating":
        return (f"user {current.get('username')} still works with its unchanged password ({prev}); the new "
                f"credential is AWSPENDING (version {result.new_version}); pods restarted so far use it")
    return (f"the database and the Secret hold the new credential, AWSPENDING (version {result.new_version}, "
            f"{result.fingerprint}); pods not yet restarted still use {prev}. Finish with `labkit secrets "
            "verify` when the rollout completes, or roll back: set the database password from AWSCURRENT and "
            "restore the Secret")


def _one_line(err: BaseException) -> str:
    if isinstance(err, ApiException):
        return f"the Kubernetes API answered {err.status} {err.reason}".strip()
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
