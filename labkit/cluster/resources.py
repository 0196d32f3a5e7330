"""What the local cluster serves, as one table, and the discovery documents kubectl reads from it.

Discovery is served in the legacy form (/api, /api/v1, /apis, /apis/apps/v1): kubectl
asks for the aggregated form first and falls back to it when the answer is a plain
APIVersions / APIGroupList, as against any API server from before 1.26.
"""

from __future__ import annotations

from dataclasses import dataclass

VERSION = {"major": "1", "minor": "33", "gitVersion": "v1.33.0-labkit", "gitCommit": "", "gitTreeState": "clean",
           "buildDate": "2026-01-01T00:00:00Z", "goVersion": "", "compiler": "labkit", "platform": "linux/amd64"}

ALL_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class Resource:
    """One kind the local API server serves: its names, group, version and scope."""
    plural: str
    kind: str
    group: str  # "" is the core group
    version: str
    namespaced: bool
    short: tuple[str, ...] = ()
    verbs: tuple[str, ...] = tuple(ALL_VERBS)
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        """group/version, or the core group's v1."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def prefix(self) -> str:
        """The REST path prefix of its group version."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    @property
    def singular(self) -> str:
        """The singular name (deployment, pod, ...)."""
        return self.kind.lower()


RESOURCES: dict[str, Resource] = {r.plural: r for r in (
    Resource("namespaces", "Namespace", "", "v1", False, ("ns",),
             ("create", "delete", "get", "list", "patch", "update", "watch"), ("status",)),
    Resource("pods", "Pod", "", "v1", True, ("po",), subresources=("log", "exec", "proxy", "status"),
             categories=("all",)),
    Resource("secrets", "Secret", "", "v1", True),
    Resource("configmaps", "ConfigMap", "", "v1", True, ("cm",)),
    Resource("services", "Service", "", "v1", True, ("svc",), subresources=("proxy", "status"),
             categories=("all",)),
    Resource("endpoints", "Endpoints", "", "v1", True, ("ep",)),
    Resource("events", "Event", "", "v1", True, ("ev",)),
    Resource("deployments", "Deployment", "apps", "v1", True, ("deploy",), subresources=("scale", "status"),
             categories=("all",)),
    Resource("replicasets", "ReplicaSet", "apps", "v1", True, ("rs",), subresources=("scale", "status"),
             categories=("all",)),
)}

SUBRESOURCE_KINDS = {"log": ("", "v1", "Pod", ("get",)), "exec": ("", "v1", "PodExecOptions", ("create", "get")),
                     "proxy": ("", "v1", "PodProxyOptions", ("create", "delete", "get", "patch", "update")),
                     "status": (None, None, None, ("get", "patch", "update")),
                     "scale": ("autoscaling", "v1", "Scale", ("get", "patch", "update"))}

GROUP_VERSIONS = {"/api/v1": ("", "v1"), "/apis/apps/v1": ("apps", "v1")}


def in_group_version(prefix: str) -> dict[str, Resource]:
    """The resources served under one group-version prefix."""
    return {p: r for p, r in RESOURCES.items() if r.prefix == prefix}


def resource_list(prefix: str) -> dict:
    """APIResourceList for /api/v1 or /apis/apps/v1, subresources included (kubectl scale needs them)."""
    group, version = GROUP_VERSIONS[prefix]
    out = []
    for r in in_group_version(prefix).values():
        out.append({"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
                    "verbs": list(r.verbs), **({"shortNames": list(r.short)} if r.short else {}),
                    **({"categories": list(r.categories)} if r.categories else {})})
        for sub in r.subresources:
            g, v, kind, verbs = SUBRESOURCE_KINDS[sub]
            if sub == "proxy":
                kind = f"{r.kind}ProxyOptions"
            entry = {"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced,
                     "kind": kind or r.kind, "verbs": list(verbs)}
            if g is not None and (g, v) != (group, version):
                entry.update(group=g, version=v)
            out.append(entry)
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version, "resources": out}


def api_versions() -> dict:
    """The core API's APIVersions (GET /api)."""
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}


def api_groups() -> dict:
    """The APIGroupList (GET /apis)."""
    apps = {"groupVersion": "apps/v1", "version": "v1"}
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [{"name": "apps", "versions": [apps], "preferredVersion": apps}]}


def api_group(name: str) -> dict | None:
    """One APIGroup (GET /apis/NAME), or None for a group not served."""
    if name != "apps":
        return None
    return api_groups()["groups"][0] | {"kind": "APIGroup", "apiVersion": "v1"}
