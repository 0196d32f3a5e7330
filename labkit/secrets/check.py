"""Lab 04's check: every Ready pod must open a database connection with the credential it holds.

``/healthz/db`` on every Ready pod through the pod proxy; transient errors are retried
until a deadline, an authentication failure fails at once. No Ready pod at all is a
failure: no data is not healthy. (The rotation that uses it is labkit.secrets.act.)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from kubernetes.client.exceptions import ApiException

from ..kube import rollout
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


