"""kubectl's rollout verbs, on the official client: they work on the local cluster and on a real one.

restart = patch the template annotation ``kubectl.kubernetes.io/restartedAt``; status =
poll until the rollout is complete; undo = put the previous revision's template back
(its ReplicaSet is re-adopted and becomes the newest revision); history = the
ReplicaSets' revisions.  ``ready_pods`` lists the Ready, non-terminating pods behind a
Deployment - there is no Service object on the local cluster.
"""

from __future__ import annotations

import copy
import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ..errors import LabkitError

REVISION = "deployment.kubernetes.io/revision"


class RolloutTimeout(LabkitError):
    """A rollout did not complete in time; the message names the pods that are not Ready."""


@dataclass(frozen=True)
class Revision:
    """One revision of a Deployment: its ReplicaSet, images and replicas."""
    revision: int
    replicaset: str
    replicas: int
    template_hash: str
    images: tuple[str, ...]


def _apis(api_client) -> tuple[client.CoreV1Api, client.AppsV1Api]:
    return client.CoreV1Api(api_client), client.AppsV1Api(api_client)


def _api_error(err: ApiException, action: str) -> LabkitError:
    return LabkitError(f"{action}: the API answered {err.status} {err.reason}")


def selector_of(deploy) -> str:
    """A Deployment's label selector as kubectl's -l text."""
    return ",".join(f"{k}={v}" for k, v in sorted((deploy.spec.selector.match_labels or {}).items()))


def is_ready(pod) -> bool:
    """Ready condition True and not being deleted."""
    if pod.metadata.deletion_timestamp is not None:
        return False
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []) if pod.status)


def ready_pods(api_client, name: str, namespace: str = "default") -> list:
    """The Ready, non-terminating pods behind a Deployment (what a Service would route to)."""
    core, apps = _apis(api_client)
    try:
        deploy = apps.read_namespaced_deployment(name, namespace)
        pods = core.list_namespaced_pod(namespace, label_selector=selector_of(deploy)).items
    except ApiException as err:
        raise _api_error(err, f"list pods of deployment {name}") from None
    return sorted((p for p in pods if is_ready(p)), key=lambda p: p.metadata.name)


def restart(api_client, name: str, namespace: str = "default") -> str:
    """kubectl rollout restart: a new template annotation makes a new ReplicaSet; returns the stamp."""
    _, apps = _apis(api_client)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}}}
    try:
        apps.patch_namespaced_deployment(name, namespace, body)
    except ApiException as err:
        raise _api_error(err, f"rollout restart deployment/{name}") from None
    return stamp


def rollout_complete(deploy) -> bool:
    """kubectl's test: the controller has seen the spec, every replica updated and available, old ones gone."""
    want = deploy.spec.replicas if deploy.spec.replicas is not None else 1
    st = deploy.status
    if st is None or (st.observed_generation or 0) < (deploy.metadata.generation or 0):
        return False
    return (st.updated_replicas or 0) == want and (st.replicas or 0) == want and (st.available_replicas or 0) == want


def wait_rollout(api_client, name: str, namespace: str = "default", timeout: float = 60.0,
                 poll: float = 0.2) -> float:
    """kubectl rollout status: wait until complete; seconds waited, or RolloutTimeout naming unready pods."""
    core, apps = _apis(api_client)
    start = time.monotonic()
    while True:
        try:
            deploy = apps.read_namespaced_deployment(name, namespace)
        except ApiException as err:
            raise _api_error(err, f"rollout status deployment/{name}") from None
        if rollout_complete(deploy):
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            pods = core.list_namespaced_pod(namespace, label_selector=selector_of(deploy)).items
            unready = sorted(p.metadata.name for p in pods if not is_ready(p) and p.metadata.deletion_timestamp is None)
            st = deploy.status
            raise RolloutTimeout(
                f"deployment/{name} rollout not complete after {timeout:.0f} s "
                f"({st.updated_replicas or 0} updated, {st.available_replicas or 0} available of "
                f"{deploy.spec.replicas}, {st.replicas or 0} in all); not Ready: {', '.join(unready) or 'none'}")
        time.sleep(poll)


def _owned(api_client, deploy, namespace: str) -> list:
    _, apps = _apis(api_client)
    sets = apps.list_namespaced_replica_set(namespace, label_selector=selector_of(deploy)).items
    return [rs for rs in sets if any(r.uid == deploy.metadata.uid for r in (rs.metadata.owner_references or []))]


def history(api_client, name: str, namespace: str = "default") -> list[Revision]:
    """kubectl rollout history: one entry per ReplicaSet, by revision."""
    _, apps = _apis(api_client)
    deploy = apps.read_namespaced_deployment(name, namespace)
    out = []
    for rs in _owned(api_client, deploy, namespace):
        ann = rs.metadata.annotations or {}
        out.append(Revision(int(ann.get(REVISION, "0")), rs.metadata.name, rs.spec.replicas or 0,
                            (rs.metadata.labels or {}).get("pod-template-hash", ""),
                            tuple(c.image for c in rs.spec.template.spec.containers)))
    return sorted(out, key=lambda r: r.revision)


def undo(api_client, name: str, namespace: str = "default", to_revision: int | None = None) -> int:
    """kubectl rollout undo: put the previous (or a given) revision's template back; returns that revision."""
    _, apps = _apis(api_client)
    deploy = apps.read_namespaced_deployment(name, namespace)
    current = int((deploy.metadata.annotations or {}).get(REVISION, "0"))
    sets = {int((rs.metadata.annotations or {}).get(REVISION, "0")): rs for rs in _owned(api_client, deploy, namespace)}
    if to_revision is None:
        older = [r for r in sets if r < current]
        if not older:
            raise LabkitError(f"deployment/{name} has no revision before {current} to roll back to")
        to_revision = max(older)
    if to_revision not in sets:
        raise LabkitError(f"deployment/{name} has no revision {to_revision} (have {sorted(sets)})")
    template: dict[str, Any] = copy.deepcopy(api_client.sanitize_for_serialization(sets[to_revision].spec.template))
    template.get("metadata", {}).get("labels", {}).pop("pod-template-hash", None)
    patch = [{"op": "replace", "path": "/spec/template", "value": template}]
    try:
        apps.patch_namespaced_deployment(name, namespace, patch)
    except ApiException as err:
        raise _api_error(err, f"rollout undo deployment/{name}") from None
    return to_revision


def proxy_get(api_client, pod: str, port: int | str, path: str, namespace: str = "default",
              timeout: float = 10.0) -> tuple[int, bytes]:
    """GET a pod's HTTP path through the API server's pod proxy; (status, raw body), any status."""
    core = client.CoreV1Api(api_client)
    try:
        resp = core.connect_get_namespaced_pod_proxy_with_path(
            f"{pod}:{port}", namespace, path.lstrip("/"), _preload_content=False, _request_timeout=timeout)
    except ApiException as err:  # some client versions raise for non-2xx even without preloading
        return err.status, (err.body.encode() if isinstance(err.body, str) else err.body or b"")
    return resp.status, resp.data
