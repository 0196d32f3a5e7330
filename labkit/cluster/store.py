"""The stand-in's object store: namespaced objects, resourceVersion, generation, and a change signal."""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable
from typing import Any

from .objects import matches, now, prepare


class NotFound(KeyError):
    """No such object."""


class Conflict(ValueError):
    """The object exists already, or a resourceVersion did not match."""


class Store:
    """Thread-safe objects by (resource, namespace, name); every write bumps resourceVersion."""

    def __init__(self) -> None:
        self._objects: dict[tuple[str, str, str], dict] = {}
        self._rv = itertools.count(1)
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)

    def _stamp(self, obj: dict, old: dict | None) -> dict:
        meta = obj["metadata"]
        meta["resourceVersion"] = str(next(self._rv))
        if obj["kind"] in ("Deployment", "ReplicaSet"):
            generation = old["metadata"].get("generation", 1) if old else 0
            meta["generation"] = generation + 1 if old is None or old.get("spec") != obj.get("spec") else generation
        self.changed.notify_all()
        return obj

    def get(self, resource: str, namespace: str, name: str) -> dict:
        with self.lock:
            try:
                return copy.deepcopy(self._objects[(resource, namespace, name)])
            except KeyError:
                raise NotFound(name) from None

    def list(self, resource: str, namespace: str | None, selector: str | None = None,
             where: Callable[[dict], bool] | None = None) -> list[dict]:
        with self.lock:
            out = [copy.deepcopy(o) for (r, ns, _), o in sorted(self._objects.items())
                   if r == resource and (namespace is None or ns == namespace)
                   and matches(o["metadata"].get("labels") or {}, selector) and (where is None or where(o))]
        return out

    def version(self) -> str:
        with self.lock:
            return str(next(self._rv))

    def create(self, resource: str, namespace: str, body: Any) -> dict:
        obj = prepare(resource, body, namespace)
        key = (resource, namespace, obj["metadata"]["name"])
        with self.lock:
            if key in self._objects:
                raise Conflict(f'{resource} "{key[2]}" already exists')
            self._objects[key] = self._stamp(obj, None)
            return copy.deepcopy(obj)

    def replace(self, resource: str, namespace: str, name: str, body: Any, keep_status: bool = True) -> dict:
        """PUT semantics: the new object, with the stored status unless the body carries status writes."""
        with self.lock:
            old = self._objects.get((resource, namespace, name))
            if old is None:
                raise NotFound(name)
            rv = (body.get("metadata") or {}).get("resourceVersion") if isinstance(body, dict) else None
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise Conflict(f"the object has been modified; resourceVersion {rv} is stale")
            obj = prepare(resource, body, namespace, old)
            if obj["metadata"]["name"] != name:
                raise Conflict("metadata.name does not match the URL")
            if keep_status and "status" in old:
                obj["status"] = old["status"]
            self._objects[(resource, namespace, name)] = self._stamp(obj, old)
            return copy.deepcopy(obj)

    def update(self, resource: str, namespace: str, name: str, fn: Callable[[dict], None]) -> dict:
        """Change an object in place under the lock (controllers: status, replicas, metadata)."""
        with self.lock:
            old = self._objects.get((resource, namespace, name))
            if old is None:
                raise NotFound(name)
            obj = copy.deepcopy(old)
            fn(obj)
            if obj == old:
                return copy.deepcopy(old)
            self._objects[(resource, namespace, name)] = self._stamp(obj, old)
            return copy.deepcopy(obj)

    def delete(self, resource: str, namespace: str, name: str) -> dict:
        with self.lock:
            try:
                obj = self._objects.pop((resource, namespace, name))
            except KeyError:
                raise NotFound(name) from None
            self.changed.notify_all()
            return obj

    def mark_deleting(self, resource: str, namespace: str, name: str) -> dict:
        """Graceful deletion: set deletionTimestamp; the owner of the object removes it later."""
        def mark(obj: dict) -> None:
            obj["metadata"].setdefault("deletionTimestamp", now())
            grace = (obj.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
            obj["metadata"].setdefault("deletionGracePeriodSeconds", grace)

        return self.update(resource, namespace, name, mark)
