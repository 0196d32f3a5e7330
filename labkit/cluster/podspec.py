"""A pod template's spec, as the API server checks and completes it: containers, ports and
probes validated (422 naming the field), then the defaults every stored pod carries."""

from __future__ import annotations

from typing import Any

from .invalid import Invalid, require


def validate_pod_spec(spec: Any, field: str) -> None:
    """Containers named, images given, ports integers, env well-formed."""
    containers = require({"spec": spec}, "spec.containers", list) if isinstance(spec, dict) else None
    if spec is None or not isinstance(spec, dict):
        raise Invalid(field, "Required value")
    if not containers:
        raise Invalid(f"{field}.containers", "Required value: at least one container")
    seen = set()
    for i, c in enumerate(containers):
        where = f"{field}.containers[{i}]"
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not c["name"]:
            raise Invalid(f"{where}.name", "Required value")
        if c["name"] in seen:
            raise Invalid(f"{where}.name", f"Duplicate value: {c['name']!r}")
        seen.add(c["name"])
        if not c.get("image") and not c.get("command"):
            raise Invalid(f"{where}.image", "Required value")
        for j, p in enumerate(c.get("ports") or []):
            if not isinstance(p, dict) or type(p.get("containerPort")) is not int or not 0 < p["containerPort"] < 65536:
                raise Invalid(f"{where}.ports[{j}].containerPort", "must be an integer between 1 and 65535")
        for j, e in enumerate(c.get("env") or []):
            if not isinstance(e, dict) or not isinstance(e.get("name"), str) or not e["name"]:
                raise Invalid(f"{where}.env[{j}].name", "Required value")
            if "value" in e and e["value"] is not None and not isinstance(e["value"], str):
                raise Invalid(f"{where}.env[{j}].value", "must be a string")
        for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            _validate_probe(c.get(kind), f"{where}.{kind}", kind)


def _validate_probe(probe: Any, where: str, kind: str) -> None:
    """One handler (httpGet, tcpSocket or exec); thresholds as the API server allows them."""
    if probe is None:
        return
    if not isinstance(probe, dict):
        raise Invalid(where, "must be an object")
    if probe.get("grpc") is not None:
        raise Invalid(f"{where}.grpc", "Unsupported value: the local cluster runs httpGet, tcpSocket and exec probes")
    handlers = [h for h in ("httpGet", "tcpSocket", "exec") if probe.get(h) is not None]
    if len(handlers) != 1:
        raise Invalid(where, "Required value: must specify exactly one handler type (httpGet, tcpSocket, exec)")
    for key in ("periodSeconds", "failureThreshold", "successThreshold", "timeoutSeconds"):
        if key in probe and (type(probe[key]) is not int or probe[key] < 1):
            raise Invalid(f"{where}.{key}", "must be greater than or equal to 1")
    if kind != "readinessProbe" and probe.get("successThreshold", 1) != 1:
        raise Invalid(f"{where}.successThreshold", "must be 1")


def _default_container(c: dict) -> None:
    c.setdefault("imagePullPolicy", "IfNotPresent")
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    for p in c.get("ports") or []:
        p.setdefault("protocol", "TCP")
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = c.get(kind)
        if not isinstance(probe, dict):
            continue
        for key, value in (("periodSeconds", 10), ("failureThreshold", 3), ("successThreshold", 1),
                           ("timeoutSeconds", 1), ("initialDelaySeconds", 0)):
            probe.setdefault(key, value)
        if isinstance(probe.get("httpGet"), dict):
            probe["httpGet"].setdefault("path", "/")
            probe["httpGet"].setdefault("scheme", "HTTP")


def default_pod_spec(spec: dict) -> None:
    """Fill in a pod spec's defaults, as the API server does on create."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    for c in spec["containers"]:
        _default_container(c)
