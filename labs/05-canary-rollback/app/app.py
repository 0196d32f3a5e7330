"""Lab 05's app: answers GET / after injected latency, with injected errors or hangs, and exports
Prometheus metrics: http_requests_total{status}, http_request_duration_seconds (buckets that
resolve 5 s) and http_requests_in_flight.

Environment: PORT, LATENCY_S (added to every request), ERROR_RATE (fraction answered 500),
HANG=1 (requests never finish - the histogram then records nothing at all).
"""

from __future__ import annotations

import os
import random
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 6.0, 8.0, 10.0)
REGISTRY = CollectorRegistry()
REQUESTS = Counter("http_requests_total", "HTTP requests answered, by status", ["status"], registry=REGISTRY)
LATENCY = Histogram("http_request_duration_seconds", "Time to answer a request", buckets=BUCKETS,
                    registry=REGISTRY)
IN_FLIGHT = Gauge("http_requests_in_flight", "Requests being answered right now", registry=REGISTRY)

LATENCY_S = float(os.environ.get("LATENCY_S", "0"))
ERROR_RATE = float(os.environ.get("ERROR_RATE", "0"))
HANG = os.environ.get("HANG") == "1"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, status: int, body: bytes, ctype: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?")[0]
        if path == "/metrics":
            self._send(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
            return
        if path == "/healthz":
            self._send(200, b"ok")
            return
        IN_FLIGHT.inc()
        start = time.perf_counter()
        try:
            if HANG:
                time.sleep(3600)  # stuck on a lock, a dead downstream...
            base = 0.01 + random.random() * 0.02
            time.sleep(base + LATENCY_S)
            status = 500 if random.random() < ERROR_RATE else 200
            self._send(status, b"error\n" if status == 500 else b"ok\n")
            REQUESTS.labels(status=str(status)).inc()
            LATENCY.observe(time.perf_counter() - start)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up
        finally:
            IN_FLIGHT.dec()

    def log_message(self, *args) -> None:
        pass


def main() -> None:
    port = int(os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer(("0.0.0.0" if os.environ.get("BIND_ALL") else "127.0.0.1", port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"canary-app on {port}: latency {LATENCY_S} s, error rate {ERROR_RATE}, hang {HANG}", flush=True)
    server.serve_forever(poll_interval=0.2)
    sys.exit(0)


if __name__ == "__main__":
    main()
