"""The Deployment controller: the ReplicaSet of the current template, rolling updates within
maxSurge / maxUnavailable as Kubernetes does them, revisions and the Deployment's status."""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Callable
from typing import Any

from .objects import now
from .owners import owned_by, owner_ref, pod_ready
from .store import NotFound, Store

REVISION = "deployment.kubernetes.io/revision"
HASH = "pod-template-hash"


def template_hash(template: dict[str, Any]) -> str:
    """A stable short hash of a pod template (the pod-template-hash label)."""
    clean = copy.deepcopy(template)
    (clean.get("metadata") or {}).get("labels", {}).pop(HASH, None)
    digest = hashlib.sha256(json.dumps(clean, sort_keys=True).encode()).hexdigest()
    return "".join(c for c in digest if c in "bcdfghjklmnpqrstvwxz2456789")[:10] or digest[:10]


def resolve(value: Any, replicas: int, round_up: bool) -> int:
    """maxSurge / maxUnavailable: an int, or a percentage rounded as Kubernetes does."""
    if isinstance(value, str) and value.endswith("%"):
        exact = replicas * float(value[:-1]) / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value)


def fenceposts(deploy: dict[str, Any]) -> tuple[int, int]:
    """(maxSurge, maxUnavailable); both zero is not allowed, so unavailable becomes 1."""
    spec = deploy["spec"]
    ru = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    replicas = spec.get("replicas", 1)
    surge = resolve(ru.get("maxSurge", "25%"), replicas, True)
    unavailable = resolve(ru.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


class DeploymentController:
    """Reconciles one Deployment at a time against the store, recording Events through `event`."""

    def __init__(self, store: Store, event: Callable[[dict, str, str, str], None]):
        self.store = store
        self._event = event
        self._deploy: dict | None = None  # the Deployment being reconciled

    def _replicasets_of(self, deploy: dict) -> list[dict]:
        ns = deploy["metadata"]["namespace"]
        return [rs for rs in self.store.list("replicasets", ns) if owned_by(rs, deploy)]

    def _new_replicaset(self, deploy: dict, owned: list[dict], hash_: str) -> dict:
        """The ReplicaSet of the current template: re-adopted if it exists, created if not."""
        revisions = [int(rs["metadata"]["annotations"].get(REVISION, "0")) for rs in owned]
        current = next((rs for rs in owned if rs["metadata"]["labels"].get(HASH) == hash_), None)
        top = max(revisions, default=0)
        ns = deploy["metadata"]["namespace"]
        if current is not None:
            mine = int(current["metadata"]["annotations"].get(REVISION, "0"))
            if mine < top:  # rolled back to an old template: it becomes the newest revision
                return self.store.update("replicasets", ns, current["metadata"]["name"],
                                         lambda rs: rs["metadata"]["annotations"].__setitem__(REVISION, str(top + 1)))
            return current
        template = copy.deepcopy(deploy["spec"]["template"])
        template["metadata"]["labels"][HASH] = hash_
        selector = copy.deepcopy(deploy["spec"]["selector"])
        selector.setdefault("matchLabels", {})[HASH] = hash_
        body = {
            "metadata": {"name": f"{deploy['metadata']['name']}-{hash_}",
                         "labels": dict(template["metadata"]["labels"]),
                         "annotations": {REVISION: str(top + 1)},
                         "ownerReferences": [owner_ref(deploy)]},
            "spec": {"replicas": 0, "selector": selector, "template": template},
        }
        return self.store.create("replicasets", ns, body)

    def _scale(self, rs: dict, replicas: int) -> None:
        """Set a ReplicaSet's replicas; the Deployment being reconciled records the event."""
        seen: list[int] = []  # the stored count, as the update finds it

        def set_replicas(obj: dict) -> None:
            seen.append(obj["spec"]["replicas"])
            obj["spec"]["replicas"] = replicas

        self.store.update("replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"], set_replicas)
        before = seen[0]
        if self._deploy is not None and before != replicas:
            self._event(self._deploy, "ScalingReplicaSet",
                        f'Scaled {"up" if replicas > before else "down"} replica set {rs["metadata"]["name"]} '
                        f'from {before} to {replicas}', "deployment-controller")

    def reconcile(self, deploy: dict) -> None:
        """Bring one Deployment's ReplicaSets to its template and replicas, rolling as its strategy says."""
        self._deploy = deploy
        ns, spec = deploy["metadata"]["namespace"], deploy["spec"]
        desired = spec.get("replicas", 1)
        if spec.get("paused"):  # kubectl rollout pause: no rollout step, no new ReplicaSet, until resumed
            self._deployment_status(deploy, ns, desired)
            return
        owned = self._replicasets_of(deploy)
        new = self._new_replicaset(deploy, owned, template_hash(spec["template"]))
        owned = self._replicasets_of(deploy)
        new = next(rs for rs in owned if rs["metadata"]["uid"] == new["metadata"]["uid"])
        old = [rs for rs in owned if rs["metadata"]["uid"] != new["metadata"]["uid"]]
        counts = {rs["metadata"]["uid"]: self._pod_counts(rs) for rs in owned}
        if (spec.get("strategy") or {}).get("type") == "Recreate":
            if any(counts[rs["metadata"]["uid"]][0] for rs in old) or any(rs["spec"]["replicas"] for rs in old):
                for rs in old:
                    self._scale(rs, 0)
            elif new["spec"]["replicas"] != desired:
                self._scale(new, desired)
        else:
            self._rolling(desired, new, old, counts, fenceposts(deploy))
        self._deployment_status(deploy, ns, desired)

    def _rolling(self, desired: int, new: dict, old: list[dict], counts: dict, fence: tuple[int, int]) -> None:
        surge, unavailable = fence
        all_rs = [new, *old]
        total = sum(rs["spec"]["replicas"] for rs in all_rs)
        # scale up the new ReplicaSet within maxSurge
        if new["spec"]["replicas"] < desired:
            room = desired + surge - total
            step = min(room, desired - new["spec"]["replicas"])
            if step > 0:
                self._scale(new, new["spec"]["replicas"] + step)
                new["spec"]["replicas"] += step
        elif new["spec"]["replicas"] > desired:
            self._scale(new, desired)
            new["spec"]["replicas"] = desired
        # scale down old ReplicaSets, as Kubernetes' reconcileOldReplicaSets does
        old = [rs for rs in old if rs["spec"]["replicas"] > 0]
        if not old:
            return
        min_available = desired - unavailable
        new_unavailable = new["spec"]["replicas"] - counts[new["metadata"]["uid"]][1]
        budget = sum(rs["spec"]["replicas"] for rs in all_rs) - min_available - new_unavailable
        if budget <= 0:
            return
        oldest_first = sorted(old, key=lambda r: (r["metadata"]["creationTimestamp"], r["metadata"]["name"]))
        for rs in oldest_first:  # 1. pods that are not available anyway go first
            live, ready = counts[rs["metadata"]["uid"]]
            unhealthy = min(rs["spec"]["replicas"] - ready, budget)
            if unhealthy > 0:
                rs["spec"]["replicas"] -= unhealthy
                budget -= unhealthy
                self._scale(rs, rs["spec"]["replicas"])
        available = sum(counts[rs["metadata"]["uid"]][1] for rs in all_rs)
        left = available - min_available
        for rs in oldest_first:  # 2. then available ones, never below minAvailable
            if left <= 0:
                break
            down = min(rs["spec"]["replicas"], left)
            if down > 0:
                rs["spec"]["replicas"] -= down
                left -= down
                self._scale(rs, rs["spec"]["replicas"])

    def _pod_counts(self, rs: dict) -> tuple[int, int]:
        """(pods not being deleted, of which Ready)."""
        pods = [p for p in self.store.list("pods", rs["metadata"]["namespace"]) if owned_by(p, rs)
                and not p["metadata"].get("deletionTimestamp")]
        return len(pods), sum(pod_ready(p) for p in pods)

    def _deployment_status(self, deploy: dict, ns: str, desired: int) -> None:
        owned = self._replicasets_of(deploy)
        hash_ = template_hash(deploy["spec"]["template"])
        pods = [p for p in self.store.list("pods", ns) if any(owned_by(p, rs) for rs in owned)]
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        updated = [p for p in live if p["metadata"]["labels"].get(HASH) == hash_]
        ready = sum(pod_ready(p) for p in live)
        new = next((rs for rs in owned if rs["metadata"]["labels"].get(HASH) == hash_), None)
        _, unavailable = fenceposts(deploy)
        paused = bool(deploy["spec"].get("paused"))
        complete = (len(updated) == desired and len(pods) == desired
                    and sum(pod_ready(p) for p in updated) == desired)
        stamp = now()

        def update(d: dict) -> None:
            if d["metadata"]["uid"] != deploy["metadata"]["uid"]:
                return
            old = {c["type"]: c for c in (d.get("status") or {}).get("conditions", [])}

            def cond(kind: str, ok: bool | str, reason: str, message: str) -> dict:
                c = {"type": kind, "status": ok if isinstance(ok, str) else "True" if ok else "False", "reason": reason, "message": message,
                     "lastUpdateTime": stamp, "lastTransitionTime": stamp}
                prev = old.get(kind)
                if prev and prev["status"] == c["status"]:
                    c["lastTransitionTime"] = prev.get("lastTransitionTime", stamp)
                    if prev.get("reason") == reason:
                        c["lastUpdateTime"] = prev.get("lastUpdateTime", stamp)
                return c

            rs_name = new["metadata"]["name"] if new else "?"
            d["status"] = {
                # the generation these counts were computed for: a spec change that lands
                # meanwhile must not be reported as observed (rollout status would end early)
                "observedGeneration": deploy["metadata"].get("generation", 1),
                "replicas": len(live), "updatedReplicas": len(updated), "readyReplicas": ready,
                "availableReplicas": ready, "unavailableReplicas": max(0, desired - ready),
                "conditions": [
                    cond("Available", ready >= desired - unavailable,
                         "MinimumReplicasAvailable" if ready >= desired - unavailable else "MinimumReplicasUnavailable",
                         "Deployment has minimum availability." if ready >= desired - unavailable
                         else "Deployment does not have minimum availability."),
                    cond("Progressing", "Unknown" if paused else True,
                         "DeploymentPaused" if paused else "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
                         "Deployment is paused" if paused else f'ReplicaSet "{rs_name}" has successfully progressed.'
                         if complete else f'ReplicaSet "{rs_name}" is progressing.'),
                ],
            }
            if d["metadata"]["annotations"].get(REVISION) != (new["metadata"]["annotations"].get(REVISION) if new else None) and new:
                d["metadata"]["annotations"][REVISION] = new["metadata"]["annotations"][REVISION]

        try:
            self.store.update("deployments", ns, deploy["metadata"]["name"], update)
        except NotFound:
            pass
