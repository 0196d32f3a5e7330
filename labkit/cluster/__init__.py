"""A lab's cluster: labkit's local one (see docs/local-cluster.md) or any cluster a kubeconfig names.

``open_cluster(run, backend, kubeconfig)`` is the one way labs and CLIs open either; the
local server is imported only when the local backend is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:
    from ..runtime import Run
    from .server import LocalCluster

BACKENDS = ("local", "kubeconfig")


@dataclass
class Cluster:
    """What a lab works with: the official client, the kubeconfig kubectl uses, the local server if any."""

    api_client: Any
    kubeconfig: str
    local: LocalCluster | None = None

    @property
    def server(self) -> str:
        """The API server's URL."""
        return self.api_client.configuration.host

    def local_ports(self) -> list[int]:
        """The ports the local cluster listens on (API, pods, Services); none for a kubeconfig cluster."""
        local = self.local
        if local is None:
            return []
        ports = [int(local.url.rsplit(":", 1)[1])]
        ports += [p for r in list(local.pods.values()) for p in r.ports.values()]
        return ports + [listener.port for listener in list(local.services.listeners.values())]


def open_cluster(run: Run | None, backend: str = "local", kubeconfig: str | Path | None = None) -> Cluster:
    """local: start labkit's cluster, stopped with the run; kubeconfig: the cluster that file names."""
    if backend == "local":
        if run is None:
            raise InputError("the local cluster needs a run to live in")
        from .server import start_cluster

        local = start_cluster(run)
        return Cluster(local.api_client(), str(local.kubeconfig), local)
    if backend != "kubeconfig":
        raise InputError(f"unknown cluster backend {backend!r}: use {' or '.join(BACKENDS)}")
    if not kubeconfig:
        raise InputError("cluster_backend='kubeconfig' needs the kubeconfig path")
    if not Path(kubeconfig).is_file():
        raise InputError(f"{kubeconfig}: no such kubeconfig")
    from kubernetes import config as kube_config

    try:
        api_client = kube_config.new_client_from_config(config_file=str(kubeconfig))
    except (kube_config.ConfigException, OSError, ValueError, TypeError, KeyError) as err:
        raise InputError(f"cannot load kubeconfig {kubeconfig}: {err}") from None
    return Cluster(api_client, str(kubeconfig))


def __getattr__(name: str) -> Any:  # LocalCluster, start_cluster: imported on first use
    if name in ("LocalCluster", "start_cluster"):
        from . import server

        return getattr(server, name)
    raise AttributeError(name)


__all__ = ["BACKENDS", "Cluster", "LocalCluster", "open_cluster", "start_cluster"]
