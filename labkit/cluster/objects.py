"""Kubernetes objects as the stand-in stores them: validation (422 naming the field) and defaults.

Responses must satisfy the official client's strict models, so every stored object
is complete: metadata with uid, resourceVersion (a string), generation (an integer)
and creationTimestamp; Deployments with selector, template and strategy; Pods with
named containers and integer container ports.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import uuid
from typing import Any

from .invalid import Invalid, require
from .podspec import default_pod_spec, validate_pod_spec

KINDS = {
    "secrets": ("v1", "Secret"),
    "pods": ("v1", "Pod"),
    "deployments": ("apps/v1", "Deployment"),
    "replicasets": ("apps/v1", "ReplicaSet"),
    "namespaces": ("v1", "Namespace"),
    "events": ("v1", "Event"),
    "services": ("v1", "Service"),
    "endpoints": ("v1", "Endpoints"),
    "configmaps": ("v1", "ConfigMap"),
}
CLUSTER_SCOPED = {"namespaces"}
NODE = "labkit-local"  # the one node: every pod is scheduled here


def now() -> str:
    """RFC 3339 in UTC, seconds (what Kubernetes writes in timestamps)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _labels(value: Any, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise Invalid(field, "must be a map of string to string")
    return value


DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def prepare(resource: str, obj: Any, namespace: str, old: dict | None = None) -> dict:
    """Validate and complete an object for storage (create when old is None, else update)."""
    if not isinstance(obj, dict):
        raise Invalid("body", "must be a JSON object")
    obj = _without_nulls(obj)  # as decoding into typed objects does: null is "not set"
    api_version, kind = KINDS[resource]
    if obj.get("kind") not in (None, kind):
        raise Invalid("kind", f"must be {kind}")
    obj["apiVersion"], obj["kind"] = api_version, kind
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise Invalid("metadata", "must be an object")
    if not meta.get("name"):
        if meta.get("generateName") and isinstance(meta["generateName"], str) and old is None:
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        else:
            raise Invalid("metadata.name", "Required value")
    name = meta["name"]
    if not isinstance(name, str) or len(name) > 253 or not DNS_SUBDOMAIN.match(name):
        raise Invalid("metadata.name", f"Invalid value: {json.dumps(name)[:80]}: a lowercase RFC 1123 subdomain must "
                                       "consist of lower case alphanumeric characters, '-' or '.', and must start "
                                       "and end with an alphanumeric character")
    if resource in CLUSTER_SCOPED:
        meta.pop("namespace", None)
    elif meta.get("namespace") not in (None, "", namespace):
        raise Invalid("metadata.namespace", "does not match the namespace of the request")
    else:
        meta["namespace"] = namespace
    meta["labels"] = _labels(meta.get("labels"), "metadata.labels")
    meta["annotations"] = _labels(meta.get("annotations"), "metadata.annotations")
    if old is not None:
        for key in ("uid", "creationTimestamp", "ownerReferences", "deletionTimestamp"):
            if key in old["metadata"]:
                meta.setdefault(key, old["metadata"][key])
    else:
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now()
    {"secrets": _secret, "pods": _pod, "deployments": _deployment, "replicasets": _replicaset,
     "namespaces": _namespace, "events": _event, "configmaps": _configmap, "endpoints": _endpoints,
     "services": lambda o: _service(o, old)}[resource](obj)
    return obj


def _without_nulls(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_nulls(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_without_nulls(v) for v in node]
    return node


def _namespace(obj: dict) -> None:
    obj["spec"] = {"finalizers": ["kubernetes"]}
    obj["status"] = obj.get("status") or {"phase": "Active"}
    obj["metadata"]["labels"].setdefault("kubernetes.io/metadata.name", obj["metadata"]["name"])


def _event(obj: dict) -> None:
    require(obj, "involvedObject")
    obj.setdefault("type", "Normal")
    obj.setdefault("count", 1)
    obj.setdefault("source", {})


def _secret(obj: dict) -> None:
    obj.setdefault("type", "Opaque")
    data = obj.get("data") or {}
    if not isinstance(data, dict):
        raise Invalid("data", "must be a map")
    for key, value in data.items():
        try:
            base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            raise Invalid(f"data[{key}]", "must be base64-encoded") from None
    for key, value in (obj.pop("stringData", None) or {}).items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    obj["data"] = data


def _configmap(obj: dict) -> None:
    for key in ("data", "binaryData"):
        value = obj.get(key)
        if value is not None and (not isinstance(value, dict)
                                  or not all(isinstance(v, str) for v in value.values())):
            raise Invalid(key, "must be a map of string to string")


def _endpoints(obj: dict) -> None:
    subsets = obj.get("subsets")
    if subsets is not None and not isinstance(subsets, list):
        raise Invalid("subsets", "must be a list")


def _service(obj: dict, old: dict | None) -> None:
    spec = require(obj, "spec")
    spec.setdefault("type", "ClusterIP")
    if spec["type"] not in ("ClusterIP", "NodePort", "LoadBalancer"):
        raise Invalid("spec.type", f"Unsupported value: {spec['type']!r}: the local cluster serves ClusterIP")
    ports = spec.get("ports")
    if not isinstance(ports, list) or not ports:
        raise Invalid("spec.ports", "Required value")
    names = set()
    for i, port in enumerate(ports):
        if not isinstance(port, dict) or type(port.get("port")) is not int or not 0 < port["port"] < 65536:
            raise Invalid(f"spec.ports[{i}].port", "must be an integer between 1 and 65535")
        if len(ports) > 1 and not port.get("name"):
            raise Invalid(f"spec.ports[{i}].name", "Required value: a Service with several ports names each")
        if port.get("name") in names:
            raise Invalid(f"spec.ports[{i}].name", f"Duplicate value: {port['name']!r}")
        names.add(port.get("name"))
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port["port"])
    _labels(spec.get("selector"), "spec.selector")
    before = (old or {}).get("spec") or {}
    if spec.get("clusterIP") in (None, "") and before.get("clusterIP"):
        spec["clusterIP"] = before["clusterIP"]
    if spec.get("clusterIP") not in ("None", None, "") and before.get("clusterIP") \
            and spec["clusterIP"] != before["clusterIP"]:
        raise Invalid("spec.clusterIP", "field is immutable")
    # No virtual IPs here: a Service port is a port on 127.0.0.1 (see services.py).
    spec["clusterIP"] = "None" if spec.get("clusterIP") == "None" else "127.0.0.1"
    spec["clusterIPs"] = [spec["clusterIP"]]
    spec.setdefault("sessionAffinity", "None")
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    obj.setdefault("status", {"loadBalancer": {}})


def _pod(obj: dict) -> None:
    validate_pod_spec(obj.get("spec"), "spec")
    default_pod_spec(obj["spec"])
    obj.setdefault("status", {"phase": "Pending", "conditions": [], "qosClass": "BestEffort"})


def _workload(obj: dict, kind: str) -> None:
    spec = require(obj, "spec")
    selector = require(obj, "spec.selector")
    match = _labels(selector.get("matchLabels"), "spec.selector.matchLabels")
    if not match:
        raise Invalid("spec.selector.matchLabels", "Required value")
    template = require(obj, "spec.template")
    tlabels = _labels((template.get("metadata") or {}).get("labels"), "spec.template.metadata.labels")
    if any(tlabels.get(k) != v for k, v in match.items()):
        raise Invalid("spec.template.metadata.labels", "`selector` does not match template `labels`")
    template.setdefault("metadata", {})["labels"] = tlabels
    validate_pod_spec(template.get("spec"), "spec.template.spec")
    default_pod_spec(template["spec"])
    replicas = spec.setdefault("replicas", 1)
    if type(replicas) is not int or replicas < 0:
        raise Invalid("spec.replicas", "must be a non-negative integer")
    if kind == "Deployment":
        strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            strategy["type"] = "RollingUpdate"
            ru = strategy.setdefault("rollingUpdate", {})
            ru.setdefault("maxSurge", "25%")
            ru.setdefault("maxUnavailable", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
    spec.setdefault("minReadySeconds", 0)


def _deployment(obj: dict) -> None:
    _workload(obj, "Deployment")


def _replicaset(obj: dict) -> None:
    _workload(obj, "ReplicaSet")
