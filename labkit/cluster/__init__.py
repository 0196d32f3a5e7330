"""labkit's local cluster: a Kubernetes API stand-in with process pods (see docs/local-cluster.md)."""

from .server import LocalCluster, start_cluster

__all__ = ["LocalCluster", "start_cluster"]
