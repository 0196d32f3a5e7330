"""The control loop's pass: namespaces, garbage collection, Deployments (labkit.cluster.deployments)
and ReplicaSets -> Pods, as the Kubernetes controllers reconcile them."""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable

from .deployments import DeploymentController
from .events import Recorder
from .owners import owned_by, owner_ref, pod_ready
from .store import NotFound, Store


class Controllers:
    """One reconcile pass over every Deployment, ReplicaSet and Pod of the cluster."""

    def __init__(self, store: Store, recorder: Recorder, sync_pods: Callable[[], None]):
        self.store, self.recorder, self.sync_pods = store, recorder, sync_pods
        self.deployments = DeploymentController(store, self._event)

    def _event(self, obj: dict, reason: str, message: str, component: str) -> None:
        self.recorder.record(obj, obj["kind"], reason, message, component)

    def reconcile(self) -> None:
        """One pass of every controller: namespaces, garbage collection, Deployments, ReplicaSets."""
        self._namespaces()
        self._garbage_collect()
        for deploy in self.store.list("deployments", None):
            self.deployments.reconcile(deploy)
        for rs in self.store.list("replicasets", None):
            self._replicaset(rs)
        self.sync_pods()

    # -- namespaces -----------------------------------------------------------
    def _namespaces(self) -> None:
        """A terminating namespace loses its contents (pods gracefully), then goes itself."""
        for ns in self.store.list("namespaces", None):
            if not ns["metadata"].get("deletionTimestamp"):
                continue
            name, left = ns["metadata"]["name"], 0
            for resource in ("deployments", "replicasets", "pods", "services", "endpoints", "secrets",
                             "configmaps", "events"):
                for obj in self.store.list(resource, name):
                    left += 1
                    if resource == "pods":
                        if not obj["metadata"].get("deletionTimestamp"):
                            self._delete("pods", obj)
                    else:
                        self._delete(resource, obj)
            if not left:
                try:
                    self.store.delete("namespaces", "", name)
                except NotFound:
                    pass

    # -- garbage collection -------------------------------------------------
    def _garbage_collect(self) -> None:
        uids = {o["metadata"]["uid"] for r in ("deployments", "replicasets") for o in self.store.list(r, None)}
        for resource in ("replicasets", "pods"):
            for obj in self.store.list(resource, None):
                refs = obj["metadata"].get("ownerReferences") or []
                if refs and not any(r.get("uid") in uids for r in refs):
                    self._delete(resource, obj)

    def _delete(self, resource: str, obj: dict) -> None:
        meta = obj["metadata"]
        try:
            if resource == "pods":
                self.store.mark_deleting("pods", meta["namespace"], meta["name"])
            else:
                self.store.delete(resource, meta["namespace"], meta["name"])
        except NotFound:
            pass

    # -- replicasets ----------------------------------------------------------
    def _replicaset(self, rs: dict) -> None:
        ns = rs["metadata"]["namespace"]
        pods = [p for p in self.store.list("pods", ns) if owned_by(p, rs)]
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        want = rs["spec"]["replicas"]
        for _ in range(want - len(live)):
            template = copy.deepcopy(rs["spec"]["template"])
            meta = template.get("metadata") or {}
            body = {"metadata": {"name": f"{rs['metadata']['name']}-{secrets.token_hex(3)[:5]}",
                                 "labels": dict(meta.get("labels") or {}),
                                 "annotations": dict(meta.get("annotations") or {}),
                                 "ownerReferences": [owner_ref(rs)]},
                    "spec": template["spec"]}
            pod = self.store.create("pods", ns, body)
            self._event(rs, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}", "replicaset-controller")
        if len(live) > want:
            newest_first = sorted(live, key=lambda p: (p["metadata"]["creationTimestamp"], p["metadata"]["name"]),
                                  reverse=True)
            victims = sorted(newest_first, key=pod_ready)[: len(live) - want]  # not ready first, then newest
            for p in victims:
                self._delete("pods", p)
                self._event(rs, "SuccessfulDelete", f"Deleted pod: {p['metadata']['name']}", "replicaset-controller")
        ready = sum(pod_ready(p) for p in live)

        def update(obj: dict) -> None:
            obj["status"] = {"replicas": len(live), "fullyLabeledReplicas": len(live), "readyReplicas": ready,
                             "availableReplicas": ready, "observedGeneration": rs["metadata"].get("generation", 1)}

        try:
            self.store.update("replicasets", ns, rs["metadata"]["name"], update)
        except NotFound:
            pass
