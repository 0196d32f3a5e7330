"""Events, as controllers and the kubelet record them: what `kubectl describe` and `get events` show.

A repeated event (same object, reason and message) is counted, not duplicated, as
Kubernetes' event recorder does; the oldest events go once there are more than MAX.
"""

from __future__ import annotations

import threading
import time

from .objects import now
from .store import NotFound, Store

MAX = 2000


class Recorder:
    """Writes Events (kubectl describe and get events read them), merging repeats as the API server's recorder does."""
    def __init__(self, store: Store):
        self.store = store
        self._lock = threading.Lock()
        self._names: dict[tuple, str] = {}  # (uid, reason, message, fieldPath) -> event name

    def record(self, obj: dict, kind: str, reason: str, message: str, component: str,
               warning: bool = False, field_path: str = "") -> None:
        """An Event about obj, or one more count of the same Event."""
        meta = obj["metadata"]
        ns = meta.get("namespace") or "default"
        key = (meta.get("uid"), reason, message, field_path)
        stamp = now()
        with self._lock:
            name = self._names.get(key)
            if name is not None:
                try:
                    self.store.update("events", ns, name, lambda e: e.update(
                        count=e.get("count", 1) + 1, lastTimestamp=stamp))
                    return
                except NotFound:
                    pass
            name = f"{meta['name']}.{time.time_ns():x}"  # as Kubernetes names them: in time order
            self._names[key] = name
            self.store.create("events", ns, {
                "metadata": {"name": name},
                "involvedObject": {"kind": kind, "namespace": ns, "name": meta["name"], "uid": meta.get("uid"),
                                   "apiVersion": obj.get("apiVersion"), "resourceVersion": meta.get("resourceVersion"),
                                   **({"fieldPath": field_path} if field_path else {})},
                "reason": reason, "message": message, "type": "Warning" if warning else "Normal",
                "source": {"component": component, **({"host": "labkit-local"} if component == "kubelet" else {})},
                "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
                "reportingComponent": component, "reportingInstance": "labkit-local"})
            if len(self._names) > MAX:
                self._trim()

    def _trim(self) -> None:
        events = sorted(self.store.list("events", None), key=lambda e: e["metadata"]["resourceVersion"].zfill(20))
        for e in events[: len(events) - MAX // 2]:
            try:
                self.store.delete("events", e["metadata"]["namespace"], e["metadata"]["name"])
            except NotFound:
                pass
        live = {e["metadata"]["name"] for e in self.store.list("events", None)}
        self._names = {k: v for k, v in self._names.items() if v in live}
