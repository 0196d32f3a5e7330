"""The stand-in's object store: objects, resourceVersion, generation, and the event log watches read.

Objects are keyed by (resource, namespace, name); cluster-scoped objects (namespaces)
have the namespace "".  Every write bumps the one resourceVersion counter and appends
an ADDED / MODIFIED / DELETED event to a bounded log, so a watch can resume from any
resourceVersion still in the log (older ones get 410 Gone, as on a real API server).
"""

from __future__ import annotations

import pickle
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from .objects import now, prepare
from .selectors import matches

EVENT_LOG = 20000


class NotFound(KeyError):
    """No such object."""


class Conflict(ValueError):
    """The object exists already, or a resourceVersion did not match."""


def _copy(obj: Any) -> Any:
    """A deep copy of an API object (plain JSON data): a pickle round trip, four times faster than
    copy.deepcopy - the controllers copy every object they list, on every pass."""
    return pickle.loads(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL))


class Gone(Exception):
    """A watch asked for a resourceVersion older than the event log holds."""


class Store:
    """Thread-safe objects; every write bumps resourceVersion and is kept for watches."""

    def __init__(self) -> None:
        self._objects: dict[tuple[str, str, str], dict] = {}
        self._rv = 0
        self._log: deque[tuple[int, str, str, str, dict]] = deque(maxlen=EVENT_LOG)
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)

    def _record(self, kind: str, resource: str, namespace: str, obj: dict) -> None:
        self._log.append((self._rv, kind, resource, namespace, _copy(obj)))
        self.changed.notify_all()

    def _stamp(self, obj: dict, old: dict | None) -> dict:
        meta = obj["metadata"]
        self._rv += 1
        meta["resourceVersion"] = str(self._rv)
        if obj["kind"] in ("Deployment", "ReplicaSet"):
            generation = old["metadata"].get("generation", 1) if old else 0
            meta["generation"] = generation + 1 if old is None or old.get("spec") != obj.get("spec") else generation
        return obj

    def get(self, resource: str, namespace: str, name: str) -> dict:
        """A copy of one object; NotFound when there is none."""
        with self.lock:
            try:
                return _copy(self._objects[(resource, namespace, name)])
            except KeyError:
                raise NotFound(name) from None

    def list(self, resource: str, namespace: str | None, selector: str | None = None,
             where: Callable[[dict], bool] | None = None) -> list[dict]:
        """Copies of the objects of a resource, by namespace, label selector and filter."""
        with self.lock:
            return [_copy(o) for (r, ns, _), o in sorted(self._objects.items())
                    if r == resource and (namespace is None or ns == namespace)
                    and matches(o["metadata"].get("labels") or {}, selector) and (where is None or where(o))]

    def version(self) -> str:
        """The newest resourceVersion (what a list answers with)."""
        with self.lock:
            return str(self._rv)

    def events_since(self, rv: int, resource: str, namespace: str | None) -> list[tuple[int, str, dict]]:
        """(resourceVersion, type, object) of every change to resource after rv; Gone if rv is too old."""
        with self.lock:
            if self._log and rv < self._log[0][0] - 1 and self._log.maxlen == len(self._log):
                raise Gone(f"too old resource version: {rv} ({self._log[0][0] - 1})")
            newer = []
            for v, kind, r, ns, obj in reversed(self._log):  # newest first: a watcher wants the last few
                if v <= rv:
                    break
                if r == resource and (namespace is None or ns == namespace):
                    newer.append((v, kind, _copy(obj)))
            return newer[::-1]

    def create(self, resource: str, namespace: str, body: Any) -> dict:
        """Create an object (defaults, name, uid, resourceVersion) and tell the watchers."""
        obj = prepare(resource, body, namespace)
        key = (resource, namespace, obj["metadata"]["name"])
        with self.lock:
            if key in self._objects:
                raise Conflict(f'{resource} "{key[2]}" already exists')
            self._objects[key] = self._stamp(obj, None)
            self._record("ADDED", resource, namespace, obj)
            return _copy(obj)

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
            if _same(obj, old):
                return _copy(old)  # a no-op write changes nothing, as on a real API server
            self._objects[(resource, namespace, name)] = self._stamp(obj, old)
            self._record("MODIFIED", resource, namespace, obj)
            return _copy(obj)

    def update(self, resource: str, namespace: str, name: str, fn: Callable[[dict], None]) -> dict:
        """Change an object in place under the lock (controllers: status, replicas, metadata)."""
        with self.lock:
            old = self._objects.get((resource, namespace, name))
            if old is None:
                raise NotFound(name)
            obj = _copy(old)
            fn(obj)
            if obj == old:
                return _copy(old)
            self._objects[(resource, namespace, name)] = self._stamp(obj, old)
            self._record("MODIFIED", resource, namespace, obj)
            return _copy(obj)

    def delete(self, resource: str, namespace: str, name: str) -> dict:
        """Delete an object and tell the watchers; the deleted object."""
        with self.lock:
            try:
                obj = self._objects.pop((resource, namespace, name))
            except KeyError:
                raise NotFound(name) from None
            self._rv += 1
            obj["metadata"]["resourceVersion"] = str(self._rv)
            self._record("DELETED", resource, namespace, obj)
            return obj

    def mark_deleting(self, resource: str, namespace: str, name: str) -> dict:
        """Graceful deletion: set deletionTimestamp; the owner of the object removes it later."""
        def mark(obj: dict) -> None:
            obj["metadata"].setdefault("deletionTimestamp", now())
            grace = (obj.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
            obj["metadata"].setdefault("deletionGracePeriodSeconds", grace)

        return self.update(resource, namespace, name, mark)


def _same(new: dict, old: dict) -> bool:
    """Equal but for resourceVersion and generation (which the write itself would change)."""
    def strip(o: dict) -> dict:
        o = dict(o, metadata=dict(o["metadata"]))
        o["metadata"].pop("resourceVersion", None)
        o["metadata"].pop("generation", None)
        return o
    return strip(new) == strip(old)
