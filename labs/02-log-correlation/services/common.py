"""What the four lab services share: JSON-lines logging, trace context, a tiny HTTP server.

Standard library only, so each service starts in a few tens of milliseconds.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")


def now() -> str:
    """ISO 8601, UTC, microseconds - the timestamp format every line carries."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class Log:
    """Append one JSON object per line to this service's log file (thread-safe, time-ordered)."""

    def __init__(self, service: str, path: str):
        self.service = service
        self._lock = threading.Lock()
        self._fh = open(path, "a", buffering=1, encoding="utf-8")

    def event(self, event: str, level: str = "INFO", trace_id: str | None = None,
              w3c_trace_id: str | None = None, **fields) -> None:
        """A structured line; the timestamp is taken under the lock so the file stays in time order."""
        with self._lock:
            line = {"timestamp": now(), "service": self.service, "level": level, "event": event}
            if trace_id:
                line["trace_id"] = trace_id
            if w3c_trace_id:
                line["w3c_trace_id"] = w3c_trace_id
            line.update(fields)
            self._fh.write(json.dumps(line) + "\n")

    def plain(self, text: str) -> None:
        """A plain-text line, the way a hurried error handler writes one."""
        with self._lock:
            self._fh.write(f"{now()} {text}\n")


class Context:
    """The payment trace ID and the W3C trace context of one request."""

    def __init__(self, trace_id: str, w3c_trace_id: str, parent_span: str | None = None):
        self.trace_id = trace_id
        self.w3c_trace_id = w3c_trace_id
        self.span_id = secrets.token_hex(8)
        self.parent_span = parent_span

    @classmethod
    def new(cls) -> Context:
        return cls(f"pay-{secrets.token_hex(4)}", secrets.token_hex(16))

    @classmethod
    def from_headers(cls, headers) -> Context:
        match = TRACEPARENT.match(headers.get("traceparent", ""))
        w3c, parent = (match.group(1), match.group(2)) if match else (secrets.token_hex(16), None)
        return cls(headers.get("X-Trace-Id", ""), w3c, parent)

    def headers(self) -> dict[str, str]:
        """Headers that carry this context downstream."""
        return {"X-Trace-Id": self.trace_id, "traceparent": f"00-{self.w3c_trace_id}-{self.span_id}-01"}

    def ids(self) -> dict[str, str]:
        return {"trace_id": self.trace_id, "w3c_trace_id": self.w3c_trace_id}


def post_json(url: str, body: dict, headers: dict[str, str], timeout: float) -> dict:
    """POST JSON, return the JSON answer; raises TimeoutError / OSError on failure."""
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"{}")


class Handler(BaseHTTPRequestHandler):
    """Routes POST/GET paths to the service's functions; JSON in, JSON out."""

    routes: dict = {}
    protocol_version = "HTTP/1.1"

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self, method: str) -> None:
        fn = self.routes.get((method, self.path.split("?")[0]))
        if fn is None:
            self._reply(404, {"error": f"no route {method} {self.path}"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        except ValueError:
            self._reply(400, {"error": "body is not JSON"})
            return
        status, answer = fn(body, self.headers)
        try:
            self._reply(status, answer)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller gave up (a timeout): nothing to answer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def log_message(self, *args) -> None:
        pass  # access logs would be untraced noise in the lab's log files


def serve(routes: dict, log: Log) -> None:
    """Serve routes on 127.0.0.1:$PORT until terminated."""
    port = int(os.environ["PORT"])
    handler = type("Routes", (Handler,), {"routes": {**routes, ("GET", "/healthz"): lambda b, h: (200, {"ok": True})}})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    log.event("service_started", port=port)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
