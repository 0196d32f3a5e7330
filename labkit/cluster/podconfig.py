"""What a local container starts with: its environment (the runtime's variables, Service links,
envFrom, env with $(VAR) expansion and valueFrom) and its volumes (ConfigMaps, Secrets and
emptyDirs written under its root) - read from the store as the pod starts, as a kubelet does."""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..paths import write_private
from .objects import NODE
from .programs import image_env
from .services import expand, service_env
from .store import NotFound, Store

# What a container runtime gives a process whose image sets no PATH.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ConfigError(Exception):
    """The pod cannot start yet: a missing Secret or key, an unknown image."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class PodConfig:
    """One pod's view of the store: its namespace's Secrets, ConfigMaps and Services."""

    def __init__(self, store: Store, namespace: str, name: str, spec: dict[str, Any], ports: dict[int, int],
                 service_port: Callable[[dict, dict], int]):
        self.store, self.ns, self.name, self.spec, self.ports = store, namespace, name, spec, ports
        self.service_port = service_port  # the local port a Service port is reachable on

    def env(self, spec: dict[str, Any]) -> dict[str, str]:
        """The container's environment, in Kubernetes' order: the runtime's own variables, the
        Services of the namespace, envFrom, then env - each value with $(VAR) expanded against
        what is defined before it."""
        env = {"PATH": os.environ.get("PATH") or DEFAULT_PATH, "HOSTNAME": self.name, "POD_NAME": self.name,
               "POD_NAMESPACE": self.ns, "PYTHONUNBUFFERED": "1"}
        own = [p["containerPort"] for p in spec.get("ports") or []]
        if own:
            env["PORT"] = str(self.ports[own[0]])
        for port in own:
            env[f"PORT_{port}"] = str(self.ports[port])
        env.update(image_env(spec.get("image", ""), self.ports))
        if self.spec.get("enableServiceLinks", True):
            env.update(service_env(self.store.list("services", self.ns), self.service_port))
        for src in spec.get("envFrom") or []:
            for kind, read in (("secretRef", self.secret), ("configMapRef", self.configmap)):
                ref = src.get(kind) or {}
                if ref.get("name"):
                    data = read(ref["name"], ref.get("optional", False))
                    env.update({src.get("prefix", "") + k: v for k, v in (data or {}).items()})
        for e in spec.get("env") or []:
            if "valueFrom" not in e or e.get("valueFrom") is None:
                env[e["name"]] = expand(e.get("value") or "", env)
                continue
            vf = e["valueFrom"]
            for kind, read in (("secretKeyRef", self.secret), ("configMapKeyRef", self.configmap)):
                if vf.get(kind):
                    ref = vf[kind]
                    data = read(ref.get("name", ""), ref.get("optional", False))
                    if data is None:
                        continue
                    if ref.get("key") not in data:
                        if ref.get("optional"):
                            continue
                        what = "Secret" if kind == "secretKeyRef" else "ConfigMap"
                        raise ConfigError("CreateContainerConfigError",
                                          f"couldn't find key {ref.get('key')} in {what} {self.ns}/{ref.get('name')}")
                    env[e["name"]] = data[ref["key"]]
            if vf.get("fieldRef"):
                path = vf["fieldRef"].get("fieldPath")
                env[e["name"]] = {"metadata.name": self.name, "metadata.namespace": self.ns,
                                  "status.podIP": "127.0.0.1", "status.hostIP": "127.0.0.1",
                                  "spec.nodeName": NODE}.get(path, "")
        return env

    def configmap(self, name: str, optional: bool) -> dict[str, str] | None:
        """A ConfigMap's data; None for a missing optional one, ConfigError for a missing required one."""
        try:
            return dict(self.store.get("configmaps", self.ns, name).get("data") or {})
        except NotFound:
            if optional:
                return None
            raise ConfigError("CreateContainerConfigError", f'configmap "{name}" not found') from None

    def volumes(self, spec: dict[str, Any], root: Path) -> Path:
        """The container's root directory, with its configMap, secret and emptyDir mounts written in.

        A local container shares the machine's filesystem; the images labkit maps read their
        well-known paths (a database's data directory, its init scripts) under this root."""
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        volumes = {v.get("name"): v for v in self.spec.get("volumes") or []}
        for mount in spec.get("volumeMounts") or []:
            volume = volumes.get(mount.get("name"))
            if volume is None:
                raise ConfigError("CreateContainerConfigError", f'volume "{mount.get("name")}" is not defined')
            target = root / str(mount.get("mountPath", "")).lstrip("/")
            target.mkdir(parents=True, exist_ok=True)
            files: dict[str, str] | None = {}
            if volume.get("configMap"):
                files = self.configmap(volume["configMap"].get("name", ""), volume["configMap"].get("optional", False))
            elif volume.get("secret"):
                files = self.secret(volume["secret"].get("secretName", ""), volume["secret"].get("optional", False))
            for key, value in (files or {}).items():
                write_private(target / key, value)
        return root

    def secret(self, name: str, optional: bool) -> dict[str, str] | None:
        """A Secret's data, decoded; None for a missing optional one, ConfigError for a missing required one."""
        try:
            secret = self.store.get("secrets", self.ns, name)
        except NotFound:
            if optional:
                return None
            raise ConfigError("CreateContainerConfigError", f'secret "{name}" not found') from None
        return {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in (secret.get("data") or {}).items()}


def remove_files(pod_dir: Path) -> None:
    """The pod's directory goes with the pod (emptyDir semantics), and what its links point
    at in the temp dir (a database's data kept where its server account can reach it)."""
    if not pod_dir.is_dir():
        return
    temp = Path(tempfile.gettempdir()).resolve()
    for path in pod_dir.rglob("*"):
        if path.is_symlink():
            target = path.resolve()
            if target.parent.parent == temp and target.parent.name.startswith("labkit-"):
                shutil.rmtree(target.parent, ignore_errors=True)
    shutil.rmtree(pod_dir, ignore_errors=True)
