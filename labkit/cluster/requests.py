"""What an API request names and how an error answers it: the path parsed into resource,
namespace, name and subresource; field selectors; the Status body and ApiError."""

from __future__ import annotations

import urllib.parse
from typing import Any

from . import resources
from .resources import Resource

PUBLIC = ("/version", "/healthz", "/livez", "/readyz")
PATCH_TYPES = {"application/json-patch+json": "json", "application/merge-patch+json": "merge",
               "application/strategic-merge-patch+json": "strategic"}


def status_body(code: int, reason: str, message: str, details: dict | None = None) -> dict[str, Any]:
    """The Kubernetes Status object every error is answered with."""
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure" if code >= 400 else "Success",
            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return body


class ApiError(Exception):
    """An API error, answered as a Status with its HTTP code and reason."""
    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.body = status_body(code, reason, message, details)
        self.code = code


def not_found(res: str, name: str) -> ApiError:
    """The 404 NotFound Status of one object."""
    return ApiError(404, "NotFound", f'{res} "{name}" not found', {"name": name, "kind": res})


class Target:
    """A parsed resource path: /api/v1[/namespaces/NS]/RES[/NAME[/SUB[/REST]]]."""

    def __init__(self, resource: Resource, ns: str | None, name: str | None, sub: str | None, rest: str):
        self.resource, self.ns, self.name, self.sub, self.rest = resource, ns, name, sub, rest

    @property
    def res(self) -> str:
        """The resource's plural name (pods, deployments, ...)."""
        return self.resource.plural


def parse(path: str) -> Target | None:
    """The resource, namespace, name and subresource a request path names, or None."""
    for prefix in resources.GROUP_VERSIONS:
        if not path.startswith(prefix + "/"):
            continue
        served = resources.in_group_version(prefix)
        segs = path[len(prefix) + 1:].split("/")
        ns = None
        if segs[0] == "namespaces" and len(segs) >= 3 and segs[2] in served and served[segs[2]].namespaced:
            ns, segs = urllib.parse.unquote(segs[1]), segs[2:]
        r = served.get(segs[0])
        if r is None or (r.namespaced and ns is None and len(segs) > 1) or any(s == "" for s in segs[:3]):
            return None
        name = urllib.parse.unquote(segs[1]) if len(segs) > 1 else None
        sub = segs[2] if len(segs) > 2 else None
        rest = urllib.parse.unquote("/" + "/".join(segs[3:])) if len(segs) > 3 else ""
        return Target(r, ns, name, sub, rest)
    return None


def field_matches(obj: dict, selector: str | None) -> bool:
    """A field selector: terms a.b=c, a.b==c, a.b!=c joined by commas."""
    for term in (selector or "").split(","):
        term = term.strip()
        if not term:
            continue
        if "!=" in term:
            key, value = term.split("!=", 1)
            if _field(obj, key.strip()) == value.strip():
                return False
        else:
            key, value = term.split("==", 1) if "==" in term else term.partition("=")[::2]
            if _field(obj, key.strip()) != value.strip():
                return False
    return True


def _field(obj: dict, path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return "" if node is None else str(node)
