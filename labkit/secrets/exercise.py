"""Lab 04's exercise: where a database check belongs - readiness, liveness or startup probe.

The learner's patch is judged by what it does on the cluster, in two situations a team meets:

- **the database goes away for a while** (a restart, a failover): no app pod should be
  restarted, and the Service should keep Ready pods - an app that cannot reach its database
  answers 503 itself, a Service without endpoints refuses every connection, and pods that
  all restart at once come back together or not at all;
- **a bad credential is shipped** (a wrong Secret, then a rolling restart): no pod with the
  bad credential may become Ready, so the rollout stalls and the old pods keep serving.

A readiness probe on the database passes the second and fails the first (every pod leaves
the Service at once); a liveness probe on it restarts every pod in an outage; a startup
probe on it passes both.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ..errors import ReadinessTimeout
from ..exercises import learner
from ..kube import manifests, rollout
from ..waiting import wait_until
from .act import patch_k8s_secret, read_current
from .creds import new_password
from .lab import MANIFESTS

OUTAGE_ON = ("ALTER DATABASE appdb ALLOW_CONNECTIONS false;"
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
             " WHERE datname = 'appdb' AND pid <> pg_backend_pid();")
OUTAGE_OFF = "ALTER DATABASE appdb ALLOW_CONNECTIONS true;"
MIN_OUTAGE_S, MAX_OUTAGE_S = 6.0, 40.0
BACK_WITHIN_S = 30.0  # after the outage, beyond the cluster's longest restart back-off (10 s)
BAD_SECRET_WINDOW_S = 5.0  # a pod without a database probe is Ready within 2 s here


@dataclass
class Situation:
    """One situation's verdict and what was seen."""

    name: str
    passed: bool
    detail: str
    app_serving: bool = True  # the app's pods were Ready at the end, so the next situation can run


def _pods(lab) -> list:
    core = client.CoreV1Api(lab.target.api_client)
    return core.list_namespaced_pod(lab.target.namespace, label_selector="app=myapp").items


def _restarts(lab) -> int:
    return sum(s.restart_count for p in _pods(lab) for s in (p.status.container_statuses or []))


def reaction_time(deployment: Any) -> float:
    """The longest a readiness or liveness probe of the app takes to act on a failure (s)."""
    worst = 0.0
    for c in deployment.spec.template.spec.containers:
        for probe in (c.readiness_probe, c.liveness_probe):
            if probe is not None:
                worst = max(worst, (probe.period_seconds or 10) * (probe.failure_threshold or 3)
                            + (probe.timeout_seconds or 1))
    return worst


def database_outage(lab, seconds: float, back_within: float = BACK_WITHIN_S) -> Situation:
    """Refuse and drop every connection to the app's database for `seconds`, watching the app's pods;
    then give them `back_within` seconds to be Ready again (a probe that keeps killing a slow
    starting app never lets them: that is a verdict, not an error)."""
    replicas = len(lab.pods())
    before = _restarts(lab)
    fewest = replicas
    lab.mark(f"database outage ({seconds:g} s)")
    lab.sql(OUTAGE_ON, database="postgres")
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            fewest = min(fewest, len(lab.pods()))
            time.sleep(0.25)
    finally:
        lab.sql(OUTAGE_OFF, database="postgres")
    restarted = _restarts(lab) - before
    try:
        wait_until(lambda: len(lab.pods()) == replicas, timeout=back_within,
                   what="the app's pods to be Ready again after the database came back")
        back = True
    except ReadinessTimeout:
        back = False
        restarted = _restarts(lab) - before
    return outage_verdict(seconds, replicas, fewest, restarted, back, back_within)


def outage_verdict(seconds: float, replicas: int, fewest: int, restarted: int, back: bool,
                   back_within: float) -> Situation:
    """The database outage's verdict from what was seen during and after it."""
    problems = (["the Service had no Ready pod left: every connection refused, not just the database's"]
                if fewest == 0 else [])
    if restarted:
        problems.append(f"{restarted} container restarts: a dependency's outage killed healthy processes")
    if not back:
        problems.append(f"not every pod was Ready {back_within:g} s after the database came back")
    passed = not problems
    return Situation("database outage", passed,
                     f"{seconds:g} s without the database: fewest Ready pods {fewest} of {replicas}, "
                     f"container restarts {restarted}" + ("" if passed else " - " + "; ".join(problems)),
                     back)


def bad_secret_rollout(lab, window: float = BAD_SECRET_WINDOW_S) -> Situation:
    """Ship a wrong password in the Secret and restart; then put the Secret back and roll out again."""
    core = client.CoreV1Api(lab.target.api_client)
    target = lab.target
    saved = core.read_namespaced_secret(target.k8s_secret, target.namespace).data
    old = {p.metadata.name for p in _pods(lab)}
    bad = new_password()
    target.passwords.append(bad)  # for the leak scans, like every password the lab makes
    lab.mark("bad Secret shipped")
    current, _ = read_current(target)
    patch_k8s_secret(target, current["username"], bad)
    try:
        rollout.restart(target.api_client, target.deployment, target.namespace)
        ready_new: set[str] = set()
        fewest_old = len(old)
        end = time.monotonic() + window
        while time.monotonic() < end:
            ready = set(lab.pods())
            ready_new |= ready - old
            fewest_old = min(fewest_old, len(ready & old))
            time.sleep(0.25)
        new = {p.metadata.name for p in _pods(lab)} - old
        events = core.list_namespaced_event(target.namespace).items
        caught = any(e.involved_object.name in new and "probe failed" in (e.message or "") for e in events)
    finally:
        core.patch_namespaced_secret(target.k8s_secret, target.namespace, {"data": saved})
        rollout.restart(target.api_client, target.deployment, target.namespace)
        rollout.wait_rollout(target.api_client, target.deployment, target.namespace, timeout=60)
    passed = not ready_new and fewest_old > 0 and caught
    why = "" if passed else " - " + (
        f"{len(ready_new)} pod(s) with the wrong password became Ready and took traffic" if ready_new
        else "the old pods stopped serving" if fewest_old == 0
        else f"no probe looked at the new pods' database access within {window:g} s")
    return Situation("bad Secret rollout", passed,
                     f"{window:g} s after a wrong password shipped: {len(ready_new)} new pod(s) Ready, "
                     f"old pods serving throughout: {fewest_old > 0}{why}")


PROBE_KEYS = ("startupProbe", "readinessProbe", "livenessProbe")


def reset_probes(lab, attempts: int = 5) -> None:
    """Put the app container's probes back to what the manifest says (an update, not a patch:
    a patch would merge into whatever an earlier attempt left). An update names the version it
    read; when the controllers wrote the Deployment in between (409 Conflict), read it again."""
    apps = client.AppsV1Api(lab.target.api_client)
    original = manifests.container(manifests.read(MANIFESTS), "myapp", "app")
    for attempt in range(attempts):
        body = lab.target.api_client.sanitize_for_serialization(
            apps.read_namespaced_deployment(lab.target.deployment, lab.target.namespace))
        for c in body["spec"]["template"]["spec"]["containers"]:
            if c["name"] == "app":
                for key in PROBE_KEYS:
                    c.pop(key, None)
                    if key in original:
                        c[key] = original[key]
        try:
            apps.replace_namespaced_deployment(lab.target.deployment, lab.target.namespace, body)
            return
        except ApiException as err:
            if err.status != 409 or attempt == attempts - 1:
                raise


def check_probe_exercise(lab, patch: dict[str, Any], timeout: float = 60.0) -> tuple[bool, str, list[Situation]]:
    """Apply the learner's patch to Deployment myapp (on the manifest's probes, whatever an earlier
    attempt left) and judge it in both situations.

    The patch itself is the learner's: a patch the API refuses, or a rollout that does not
    complete with the right credentials, is their crash, not a wrong answer.
    """
    apps = client.AppsV1Api(lab.target.api_client)
    target = lab.target
    reset_probes(lab)
    learner(apps.patch_namespaced_deployment, target.deployment, target.namespace, patch)
    learner(rollout.wait_rollout, target.api_client, target.deployment, target.namespace, timeout)
    deployment = apps.read_namespaced_deployment(target.deployment, target.namespace)
    outage_s = min(MAX_OUTAGE_S, max(MIN_OUTAGE_S, reaction_time(deployment) + 2))
    outage = database_outage(lab, outage_s)
    if outage.app_serving:
        situations = [outage, bad_secret_rollout(lab)]
    else:
        restore_probes(lab, timeout)
        situations = [outage, Situation("bad Secret rollout", False, "not tried: the app's pods were not Ready "
                                        "after the outage (the manifest's probes are back, so the lab goes on)")]
    failed = [s for s in situations if not s.passed]
    return not failed, "; ".join(s.detail for s in failed), situations


def restore_probes(lab, timeout: float = 60.0) -> None:
    """Put the manifest's probes back and wait for the rollout: the app works again for the rest of the lab."""
    reset_probes(lab)
    rollout.wait_rollout(lab.target.api_client, lab.target.deployment, lab.target.namespace, timeout=timeout)
