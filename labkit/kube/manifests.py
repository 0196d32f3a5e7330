"""A lab's Kubernetes objects are its YAML files: read them, set the few parameters a lab owns, apply.

``read(folder)`` loads every ``*.yaml`` of a folder in name order (kubectl's order), so
what a learner reads in ``labs/0N-*/k8s/`` is exactly what runs. The setters change one
named object in place and fail loudly if it is not there. ``apply`` creates each object,
or merge-patches it when it exists, and records what it applied the way ``kubectl apply``
does (the last-applied annotation), so a learner's own ``kubectl apply`` later works on top.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ..errors import InputError, LabkitError

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# kind -> (the official client's API class, the method suffix): the kinds the labs' manifests use
KINDS = {
    "Secret": (client.CoreV1Api, "secret"),
    "ConfigMap": (client.CoreV1Api, "config_map"),
    "Service": (client.CoreV1Api, "service"),
    "Deployment": (client.AppsV1Api, "deployment"),
}


def read(folder: str | Path) -> list[dict[str, Any]]:
    """Every object in folder/*.yaml, files in name order, documents in file order."""
    files = sorted(Path(folder).glob("*.yaml"))
    if not files:
        raise InputError(f"{folder}: no *.yaml manifests")
    objects = []
    for path in files:
        try:
            docs = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError as err:
            raise InputError(f"{path}: not valid YAML: {err}") from None
        objects += [d for d in docs if d]
    return objects


def find(objects: list[dict], kind: str, name: str) -> dict[str, Any]:
    """The object of that kind and name among the manifests; InputError when there is none."""
    for obj in objects:
        if obj.get("kind") == kind and obj.get("metadata", {}).get("name") == name:
            return obj
    raise LabkitError(f"the manifests have no {kind} {name}")


def container(objects: list[dict], deployment: str, name: str | None = None) -> dict[str, Any]:
    """A Deployment's container (its first one, or the one named)."""
    containers = find(objects, "Deployment", deployment)["spec"]["template"]["spec"]["containers"]
    for c in containers:
        if name in (None, c["name"]):
            return c
    raise LabkitError(f"deployment {deployment} has no container {name}")


def set_replicas(objects: list[dict], deployment: str, replicas: int) -> None:
    """Set a Deployment's replicas in the manifests."""
    find(objects, "Deployment", deployment)["spec"]["replicas"] = int(replicas)


def set_image(objects: list[dict], deployment: str, image: str) -> None:
    """Set the image of a Deployment's container in the manifests."""
    container(objects, deployment)["image"] = image


def set_env(objects: list[dict], deployment: str, values: dict[str, str]) -> None:
    """Set (or add) plain env values of a Deployment's container; other entries stay as written."""
    env = container(objects, deployment).setdefault("env", [])
    for key, value in values.items():
        entry = next((e for e in env if e["name"] == key), None)
        if entry is None:
            env.append({"name": key, "value": str(value)})
        else:
            entry.pop("valueFrom", None)
            entry["value"] = str(value)


def set_secret(objects: list[dict], name: str, values: dict[str, str]) -> None:
    """Replace a Secret's placeholder values (stringData) with real ones - held in memory only."""
    secret = find(objects, "Secret", name)
    data = secret.setdefault("stringData", {})
    missing = set(values) - set(data) - set(secret.get("data") or {})
    if missing:
        raise LabkitError(f"secret {name} has no keys {sorted(missing)} to set")
    data.update(values)


def _verb(api_client, obj: dict, verb: str):
    """The official client's <verb>_namespaced_<kind> for this object."""
    try:
        api, suffix = KINDS[obj.get("kind", "")]
    except KeyError:
        raise LabkitError(f"cannot apply kind {obj.get('kind')!r} (known: {', '.join(KINDS)})") from None
    return getattr(api(api_client), f"{verb}_namespaced_{suffix}")


def apply(api_client, objects: list[dict], namespace: str = "default", existing: str = "patch",
          created: list[dict] | None = None) -> list[str]:
    """kubectl apply, for these kinds: create, or patch what exists; returns 'kind/name verb' lines.

    existing="fail" refuses objects that already exist (a lab wants its own fresh copy: a
    database left from an earlier run would not know the new credentials). Each object this
    call creates is appended to `created` as it is made (what a cleanup may delete)."""
    done = []
    for obj in objects:
        body = json.loads(json.dumps(obj))
        meta = body.setdefault("metadata", {})
        # kubectl would also copy a Secret, values and all, into this annotation - readable by
        # anyone who may read the Secret's metadata. Never for a Secret here.
        if obj["kind"] != "Secret":
            meta.setdefault("annotations", {})[LAST_APPLIED] = json.dumps(obj, sort_keys=True, separators=(",", ":"))
        name, ns = meta["name"], meta.get("namespace") or namespace
        try:
            _verb(api_client, obj, "create")(ns, body)
            done.append(f"{obj['kind'].lower()}/{name} created")
            if created is not None:
                created.append(obj)
        except ApiException as err:
            if err.status == 409 and existing == "fail":
                raise LabkitError(f"{obj['kind']} {name} already exists in namespace {ns} (left by an earlier run?): "
                                  "delete the lab's objects first, e.g. kubectl delete -f labs/<lab>/k8s/") from None
            if err.status != 409:
                raise LabkitError(f"apply {obj['kind']} {name}: the API answered {err.status} {err.reason}: "
                                  f"{_message(err)}") from None
            try:
                _verb(api_client, obj, "patch")(name, ns, body)
            except ApiException as err2:
                raise LabkitError(f"apply {obj['kind']} {name}: the API answered {err2.status} {err2.reason}: "
                                  f"{_message(err2)}") from None
            done.append(f"{obj['kind'].lower()}/{name} configured")
    return done


def _message(err: ApiException) -> str:
    try:
        return json.loads(err.body).get("message", "")
    except (TypeError, ValueError):
        return ""


def delete(api_client, objects: list[dict], namespace: str = "default") -> None:
    """Delete what apply created, last first; what is already gone is fine. Every object is tried;
    the failures are reported together at the end."""
    failed = []
    for obj in reversed(objects):
        meta = obj["metadata"]
        try:
            _verb(api_client, obj, "delete")(meta["name"], meta.get("namespace") or namespace,
                                             _preload_content=False)
        except ApiException as err:
            if err.status != 404:
                failed.append(f"{obj['kind']} {meta['name']} ({err.status} {err.reason})")
    if failed:
        raise LabkitError("could not delete " + ", ".join(failed))
