"""Server-side tables: the columns `kubectl get` prints, as a real API server computes them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

Row = list[Any]


def age(stamp: str | None, now: dt.datetime | None = None) -> str:
    """kubectl's human duration: 45s, 3m20s, 15m, 5h10m, 3d4h, 20d."""
    if not stamp:
        return "<unknown>"
    then = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    secs = int(((now or dt.datetime.now(dt.UTC)) - then).total_seconds())
    if secs < 0:
        return "0s"
    if secs < 120:
        return f"{secs}s"
    mins = secs // 60
    if mins < 10:
        return f"{mins}m{secs % 60}s" if secs % 60 else f"{mins}m"
    if mins < 180:
        return f"{mins}m"
    hours = mins // 60
    if hours < 8:
        return f"{hours}h{mins % 60}m" if mins % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d" if days < 365 * 2 else f"{days // 365}y"


def _pod_status(pod: dict) -> str:
    """The STATUS column: the most telling container state, Terminating while being deleted."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif (state.get("terminated") or {}).get("reason"):
            reason = state["terminated"]["reason"]
        elif "terminated" in state:
            reason = f"ExitCode:{state['terminated'].get('exitCode', 0)}"
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def _restarts(pod: dict) -> str:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    count = sum(cs.get("restartCount", 0) for cs in statuses)
    finished = [((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt") for cs in statuses]
    finished = [f for f in finished if f]
    return f"{count} ({age(max(finished))} ago)" if count and finished else str(count)


def _pod(pod: dict) -> Row:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for cs in statuses if cs.get("ready"))
    return [pod["metadata"]["name"], f"{ready}/{len(spec.get('containers') or [])}", _pod_status(pod), _restarts(pod),
            age(pod["metadata"].get("creationTimestamp")), status.get("podIP") or "<none>",
            spec.get("nodeName") or "<none>", "<none>", "<none>"]


def _containers(obj: dict) -> tuple[str, str, str]:
    spec = obj.get("spec") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    selector = ",".join(f"{k}={v}" for k, v in ((spec.get("selector") or {}).get("matchLabels") or {}).items())
    return (",".join(c["name"] for c in containers), ",".join(c.get("image", "") for c in containers), selector)


def _deployment(d: dict) -> Row:
    st, want = d.get("status") or {}, (d.get("spec") or {}).get("replicas", 1)
    return [d["metadata"]["name"], f"{st.get('readyReplicas', 0)}/{want}", st.get("updatedReplicas", 0),
            st.get("availableReplicas", 0), age(d["metadata"].get("creationTimestamp")), *_containers(d)]


def _replicaset(rs: dict) -> Row:
    st = rs.get("status") or {}
    return [rs["metadata"]["name"], (rs.get("spec") or {}).get("replicas", 0), st.get("replicas", 0),
            st.get("readyReplicas", 0), age(rs["metadata"].get("creationTimestamp")), *_containers(rs)]


def _secret(s: dict) -> Row:
    return [s["metadata"]["name"], s.get("type", "Opaque"), len(s.get("data") or {}),
            age(s["metadata"].get("creationTimestamp"))]


def _namespace(ns: dict) -> Row:
    return [ns["metadata"]["name"], (ns.get("status") or {}).get("phase", "Active"),
            age(ns["metadata"].get("creationTimestamp"))]


def _event(e: dict) -> Row:
    inv = e.get("involvedObject") or {}
    last = e.get("lastTimestamp") or e.get("eventTime") or e["metadata"].get("creationTimestamp")
    return [age(last), e.get("type", ""), e.get("reason", ""), f"{(inv.get('kind') or '').lower()}/{inv.get('name', '')}",
            e.get("message", ""), inv.get("fieldPath", ""), (e.get("source") or {}).get("component", ""),
            age(e.get("firstTimestamp") or last), e.get("count", 1), e["metadata"]["name"]]


def _service(svc: dict) -> Row:
    spec = svc.get("spec") or {}
    ports = ",".join(f"{p['port']}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or []) or "<none>"
    selector = ",".join(f"{k}={v}" for k, v in (spec.get("selector") or {}).items()) or "<none>"
    return [svc["metadata"]["name"], spec.get("type", "ClusterIP"), spec.get("clusterIP") or "<none>", "<none>",
            ports, age(svc["metadata"].get("creationTimestamp")), selector]


def _endpoints(ep: dict) -> Row:
    pairs = [f"{a['ip']}:{p['port']}" for s in ep.get("subsets") or [] for a in s.get("addresses") or []
             for p in s.get("ports") or []]
    shown = ",".join(pairs[:3]) + (f" + {len(pairs) - 3} more..." if len(pairs) > 3 else "")
    return [ep["metadata"]["name"], shown or "<none>", age(ep["metadata"].get("creationTimestamp"))]


def _configmap(cm: dict) -> Row:
    return [cm["metadata"]["name"], len(cm.get("data") or {}) + len(cm.get("binaryData") or {}),
            age(cm["metadata"].get("creationTimestamp"))]


def _col(name: str, kind: str = "string", priority: int = 0, fmt: str = "") -> dict[str, Any]:
    return {"name": name, "type": kind, "format": fmt, "description": "", "priority": priority}


NAME = _col("Name", fmt="name")
WIDE_WORKLOAD = [_col("Containers", priority=1), _col("Images", priority=1), _col("Selector", priority=1)]

TABLES: dict[str, tuple[list[dict], Callable[[dict], Row]]] = {
    "pods": ([NAME, _col("Ready"), _col("Status"), _col("Restarts"), _col("Age"), _col("IP", priority=1),
              _col("Node", priority=1), _col("Nominated Node", priority=1), _col("Readiness Gates", priority=1)], _pod),
    "deployments": ([NAME, _col("Ready"), _col("Up-to-date", "integer"), _col("Available", "integer"), _col("Age"),
                     *WIDE_WORKLOAD], _deployment),
    "replicasets": ([NAME, _col("Desired", "integer"), _col("Current", "integer"), _col("Ready", "integer"),
                     _col("Age"), *WIDE_WORKLOAD], _replicaset),
    "secrets": ([NAME, _col("Type"), _col("Data", "integer"), _col("Age")], _secret),
    "namespaces": ([NAME, _col("Status"), _col("Age")], _namespace),
    "services": ([NAME, _col("Type"), _col("Cluster-IP"), _col("External-IP"), _col("Port(s)"), _col("Age"),
                  _col("Selector", priority=1)], _service),
    "endpoints": ([NAME, _col("Endpoints"), _col("Age")], _endpoints),
    "configmaps": ([NAME, _col("Data", "integer"), _col("Age")], _configmap),
    "events": ([_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Message"),
                _col("Subobject", priority=1), _col("Source", priority=1), _col("First Seen", priority=1),
                _col("Count", "integer", 1), _col("Name", priority=1)], _event),
}


def wants_table(accept: str | None) -> bool:
    """True when the client asked for meta.k8s.io Tables (kubectl get does)."""
    return bool(accept) and "as=Table" in accept


def table(resource: str, items: list[dict], resource_version: str, include: str = "Metadata",
          continue_token: str = "") -> dict[str, Any]:
    """A meta.k8s.io/v1 Table of items; rows carry the object as asked (None, Metadata or Object)."""
    columns, row = TABLES.get(resource, ([NAME, _col("Age")],
                                         lambda o: [o["metadata"]["name"], age(o["metadata"].get("creationTimestamp"))]))
    rows = []
    for obj in items:
        entry: dict[str, Any] = {"cells": row(obj)}
        if include == "Object":
            entry["object"] = obj
        elif include != "None":
            entry["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                               "metadata": obj["metadata"]}
        rows.append(entry)
    meta = {"resourceVersion": resource_version, **({"continue": continue_token} if continue_token else {})}
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": columns,
            "rows": rows}
