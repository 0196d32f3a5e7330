"""Watches: ?watch=true on any served list, streaming ADDED / MODIFIED / DELETED as JSON lines.

Semantics as on a real API server: without a resourceVersion (or with "0", or with
sendInitialEvents=true) the watch starts with an ADDED event per existing object;
with one it resumes after it (410 Gone in an ERROR event when the log no longer
reaches back that far).  Selectors are applied to each event: an object that starts
to match arrives as ADDED, one that stops matching as DELETED.  The watch ends at
timeoutSeconds, when the client goes away, or when the cluster stops.
"""

from __future__ import annotations

import json
import select
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

from .store import Gone, Store

DEFAULT_TIMEOUT = 1800.0
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


class Stream:
    """A chunked HTTP response on a request handler; write() is False once the client has gone."""

    def __init__(self, handler: Any, content_type: str):
        self.handler = handler
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Cache-Control", "no-cache, private")
        handler.end_headers()
        self.open = True

    def write(self, data: bytes) -> bool:
        """Send one chunk of a watch stream; False once the client has gone."""
        if not data or not self.open:
            return self.open
        try:
            self.handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.handler.wfile.flush()
        except OSError:
            self.open = False
        return self.open

    def client_gone(self) -> bool:
        """True when the client closed its end (checked without blocking)."""
        sock = self.handler.connection
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return False
            if not isinstance(sock, ssl.SSLSocket):
                return sock.recv(1, socket.MSG_PEEK) == b""
            # Over TLS a client with a response outstanding sends nothing but its close: read it.
            sock.setblocking(False)
            try:
                return sock.recv(1) == b""
            except ssl.SSLWantReadError:
                return False
            finally:
                sock.setblocking(True)
        except (OSError, ValueError):
            return True

    def close(self) -> None:
        """End the chunked stream and stop writing."""
        if self.open:
            try:
                self.handler.wfile.write(b"0\r\n\r\n")
                self.handler.wfile.flush()
            except OSError:
                pass
        self.open = False


def serve(handler: Any, store: Store, resource: str, namespace: str | None, query: dict[str, str],
          keep: Callable[[dict], bool], render: Callable[[dict], dict], stopping: Callable[[], bool]) -> None:
    """Stream events of resource in namespace (None: all) whose objects pass keep()."""
    timeout = float(query.get("timeoutSeconds") or DEFAULT_TIMEOUT)
    deadline = time.monotonic() + timeout
    rv_param = query.get("resourceVersion") or ""
    initial = query.get("sendInitialEvents") == "true" or rv_param in ("", "0")
    stream = Stream(handler, "application/json")
    matching: set[str] = set()
    born: set[str] = set()  # objects created after the requested version, seen in this stream

    def send(kind: str, obj: dict) -> bool:
        return stream.write(json.dumps({"type": kind, "object": render(obj)}).encode() + b"\n")

    with store.lock:
        if initial:
            snapshot, since = store.list(resource, namespace), int(store.version())
        else:
            snapshot, since = [], _int(rv_param)
    for obj in snapshot:
        if keep(obj):
            matching.add(obj["metadata"]["uid"])
            send("ADDED", obj)
    if query.get("sendInitialEvents") == "true":
        stream.write(json.dumps({"type": "BOOKMARK", "object": {
            "kind": snapshot[0]["kind"] if snapshot else "", "apiVersion": snapshot[0]["apiVersion"] if snapshot else "",
            "metadata": {"resourceVersion": str(since), "annotations": {INITIAL_EVENTS_END: "true"}}}}).encode() + b"\n")
    if not initial:
        for obj in store.list(resource, namespace):
            if keep(obj) and _int(obj["metadata"]["resourceVersion"]) <= since:
                matching.add(obj["metadata"]["uid"])
    while stream.open and not stopping() and time.monotonic() < deadline:
        try:
            with store.changed:
                events = store.events_since(since, resource, namespace)
                if not events:
                    store.changed.wait(min(1.0, max(0.0, deadline - time.monotonic())))
                    events = store.events_since(since, resource, namespace)
        except Gone as err:
            stream.write(json.dumps({"type": "ERROR", "object": {
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": str(err),
                "reason": "Expired", "code": 410}}).encode() + b"\n")
            break
        for rv, kind, obj in events:
            since = rv
            uid, ok = obj["metadata"]["uid"], kind != "DELETED" and keep(obj)
            if kind == "ADDED":
                born.add(uid)
            if ok:
                send("MODIFIED" if uid in matching else "ADDED", obj)
                matching.add(uid)
            elif uid in matching or (kind == "DELETED" and not initial and uid not in born and keep(obj)):
                # the second case: gone between the client's list and this watch - it existed at the
                # requested version, so the client holds it and must hear that it is gone
                matching.discard(uid)
                send("DELETED", obj)
        if not events and stream.client_gone():
            break
    stream.close()


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0
