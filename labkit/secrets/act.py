"""Lab 04's change to the world: rotate the database credential, one explicit step at a time.

AWSPENDING -> database -> Kubernetes Secret -> rolling restart -> wait -> verify every pod ->
promote AWSPENDING to AWSCURRENT. A failed step is named; the previous credential stays
AWSCURRENT until the very end, so it is always recoverable, and `recover` says where it is.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import botocore.exceptions
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ..aws import explain_aws_error
from ..errors import LabkitError, first_line
from ..kube import rollout
from .check import Target, VerifyResult, verify
from .creds import b64, fingerprint, new_password, set_password


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
    """A step failed; its message is in the result."""


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


class Rotation:
    """One rotation of the credential behind a Deployment, as the steps a runbook lists.

    `run` takes the steps in order and stops at the first that fails; each step is a method
    that returns what it did (one line) and raises on failure.
    """

    STEPS = ("read_current", "create_pending", "set_db_password", "update_k8s_secret", "rolling_restart",
             "wait_rollout", "verify", "promote")

    def __init__(self, target: Target, strategy: str = "single"):
        if strategy not in ("single", "alternating"):
            raise LabkitError(f"unknown strategy {strategy!r}: use single or alternating")
        self.target = target
        self.result = RotationResult(strategy)
        self.current: dict[str, Any] = {}  # AWSCURRENT's value
        self.new: dict[str, Any] = {}  # AWSPENDING's value
        self.db_changed = self.secret_changed = False

    def run(self) -> RotationResult:
        """Every step in order; on a failure, the recovery that leaves a working credential."""
        try:
            for name in self.STEPS:
                self._step(name, getattr(self, name))
            self.result.ok = True
            self.result.recovery = f"the previous credential is AWSPREVIOUS (version {self.result.previous_version})"
        except _StepFailed:
            self.result.recovery = self.recover()
        return self.result

    def _step(self, name: str, fn: Callable[[], str | None]) -> None:
        self.result.step_times.append((name, time.time()))
        if self.target.on_step:
            self.target.on_step(name, time.time())
        start = time.monotonic()
        try:
            detail = fn() or ""
        except (LabkitError, ApiException, botocore.exceptions.BotoCoreError,
                botocore.exceptions.ClientError, OSError) as err:
            message = _one_line(err)
            self.result.steps.append(Step(name, False, time.monotonic() - start, message))
            self.result.failed_step = name
            raise _StepFailed(message) from None
        self.result.steps.append(Step(name, True, time.monotonic() - start, detail))

    def read_current(self) -> str:
        """Read AWSCURRENT: the credential in use."""
        value, version = read_current(self.target)
        self.current.update(value)
        self.result.previous_version = version
        return f"AWSCURRENT is version {version} for user {value['username']} ({fingerprint(value['password'])})"

    def create_pending(self) -> str:
        """Write the new credential as AWSPENDING (the idle user's, with the alternating strategy)."""
        user, users = self.current["username"], self.target.users
        if self.result.strategy == "alternating":
            user = users[1] if user == users[0] else users[0]
        password = new_password()
        self.target.passwords.append(password)
        self.new.update(self.current, username=user, password=password)
        resp = _sm_call(self.target.sm.put_secret_value, "secretsmanager:PutSecretValue",
                        SecretId=self.target.secret_id, ClientRequestToken=str(uuid.uuid4()),
                        SecretString=json.dumps(self.new), VersionStages=["AWSPENDING"])
        self.result.new_version, self.result.user = resp["VersionId"], user
        self.result.fingerprint = fingerprint(password)
        return f"AWSPENDING is version {resp['VersionId']} for user {user} ({self.result.fingerprint})"

    def set_db_password(self) -> str:
        """Give the user the new password in the database."""
        set_password(self.target.db_admin, self.new["username"], self.new["password"])
        self.db_changed = True
        return f"ALTER ROLE {self.new['username']} with a client-side SCRAM verifier"

    def update_k8s_secret(self) -> str:
        """Write the new credential into the Secret the pods read."""
        patch_k8s_secret(self.target, self.new["username"], self.new["password"])
        self.secret_changed = True
        return f"Secret {self.target.k8s_secret} now holds {self.new['username']} ({self.result.fingerprint})"

    def rolling_restart(self) -> str:
        """Restart the Deployment's pods so they read the Secret again."""
        t = self.target
        return "restartedAt=" + rollout.restart(t.api_client, t.deployment, t.namespace)

    def wait_rollout(self) -> str:
        """Wait until the restart has rolled out."""
        t = self.target
        waited = rollout.wait_rollout(t.api_client, t.deployment, t.namespace, t.rollout_timeout)
        return f"rollout complete after {waited:.1f} s"

    def verify(self) -> str:
        """Every Ready pod opens a connection with the new credential - or the rotation stops here."""
        result = self.result.verify = verify(self.target)
        if not result.ok:
            raise LabkitError(f"verification failed on {', '.join(result.failing)}: {result.checks[0].reason}")
        return f"{len(result.checks)} pods authenticated with the new credential"

    def promote(self) -> str:
        """AWSPENDING becomes AWSCURRENT; the old version is AWSPREVIOUS."""
        t, r = self.target, self.result
        _sm_call(t.sm.update_secret_version_stage, "secretsmanager:UpdateSecretVersionStage",
                 SecretId=t.secret_id, VersionStage="AWSCURRENT", MoveToVersionId=r.new_version,
                 RemoveFromVersionId=r.previous_version)
        _sm_call(t.sm.update_secret_version_stage, "secretsmanager:UpdateSecretVersionStage",
                 SecretId=t.secret_id, VersionStage="AWSPENDING", RemoveFromVersionId=r.new_version)
        return f"AWSCURRENT is version {r.new_version}; {r.previous_version} is AWSPREVIOUS"

    def recover(self) -> str:
        """After a failed step: leave a working credential and say where it is."""
        target, result, current = self.target, self.result, self.current
        prev = f"AWSCURRENT (version {result.previous_version})"
        if not self.db_changed:
            return f"nothing changed in the database or the cluster: {prev} is still the working credential"
        if not self.secret_changed and result.strategy == "single":
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


def rotate(target: Target, strategy: str = "single") -> RotationResult:
    """The full rotation; every step is timed and a failure names its step."""
    return Rotation(target, strategy).run()


def _one_line(err: BaseException) -> str:
    """A step's failure in one line (the Kubernetes API's status, or the error's first line)."""
    if isinstance(err, ApiException):
        return f"the Kubernetes API answered {err.status} {err.reason}".strip()
    return first_line(err)
