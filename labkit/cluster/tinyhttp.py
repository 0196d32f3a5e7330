"""A tiny HTTP app for the local cluster's own tests and for learners exploring it.

/healthz (503 while NOT_READY is set or the file $READY_FILE is missing), /env
(the variables named in $SHOW_ENV), /metrics (a request counter), anything else 200.
Set CRASH_AFTER_S to exit with code 3 after that many seconds.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REQUESTS = {"n": 0}


class Handler(BaseHTTPRequestHandler):
    """The pods' default app: health and readiness endpoints and a request counter."""
    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        """Answer /healthz, /env, /metrics and / as the environment configures the app."""
        REQUESTS["n"] += 1
        path = self.path.split("?")[0]
        if path == "/healthz":
            ready_file = os.environ.get("READY_FILE")
            ok = not os.environ.get("NOT_READY") and (not ready_file or os.path.exists(ready_file))
            self._send(200 if ok else 503, json.dumps({"ok": ok}).encode())
        elif path == "/env":
            names = [n for n in os.environ.get("SHOW_ENV", "").split(",") if n]
            self._send(200, json.dumps({n: os.environ.get(n) for n in names}).encode())
        elif path == "/metrics":
            self._send(200, f"tiny_requests_total {REQUESTS['n']}\n".encode(), "text/plain; version=0.0.4")
        else:
            self._send(200, json.dumps({"path": path, "pod": os.environ.get("POD_NAME")}).encode())

    def log_message(self, *args) -> None:
        """Quiet: requests are not logged."""
        pass


def main() -> None:
    """Serve on $PORT until terminated (or crash after $CRASH_AFTER_S, for the tests)."""
    port = int(os.environ.get("PORT", "8080"))
    crash = os.environ.get("CRASH_AFTER_S")
    if crash:
        threading.Timer(float(crash), lambda: (print("crashing on purpose", flush=True), os._exit(3))).start()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"tiny-http listening on 127.0.0.1:{port} at {time.time():.3f}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
