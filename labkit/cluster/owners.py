"""Owner references: which object a controller made for which, and whether a pod is Ready."""

from __future__ import annotations

from typing import Any


def owned_by(obj: dict, owner: dict) -> bool:
    """obj names owner in its ownerReferences."""
    return any(r.get("uid") == owner["metadata"]["uid"] for r in obj["metadata"].get("ownerReferences") or [])


def owner_ref(owner: dict) -> dict[str, Any]:
    """An ownerReference to owner, as a controller sets it."""
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def pod_ready(pod: dict) -> bool:
    """The pod is Ready and not being deleted."""
    return not pod["metadata"].get("deletionTimestamp") and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions", []))
