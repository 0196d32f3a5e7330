"""Lab 04's app: an HTTP service with a PostgreSQL connection pool.

Credentials come from the environment *at start* (DB_USER, DB_PASSWORD from the
Kubernetes Secret; DB_HOST, DB_PORT, DB_NAME), exactly as a pod reads a Secret.

  /healthz     200 while the server runs - what the readiness probe checks
  /healthz/db  a fresh connection with the current credentials + SELECT 1;
               503 with a clear reason (and auth_failed) when that fails
  /orders      a query on a pooled connection (min 2, max 8, 1 s acquire timeout)

The password is never logged: the log shows its fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

CONN = {"host": os.environ.get("DB_HOST", "127.0.0.1"), "port": int(os.environ.get("DB_PORT", "5432")),
        "dbname": os.environ.get("DB_NAME", "appdb"), "user": os.environ.get("DB_USER", "appuser"),
        "password": os.environ.get("DB_PASSWORD", ""), "connect_timeout": 3}
ACQUIRE_TIMEOUT = float(os.environ.get("POOL_ACQUIRE_TIMEOUT_S", "1.0"))
AUTH_FAILED = "password authentication failed"


def fingerprint(secret: str) -> str:
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:12]


def log(event: str, **fields) -> None:
    print(json.dumps({"ts": time.time(), "event": event, **fields}), flush=True)


def reason(err: Exception) -> str:
    """The server's message without the connection preamble (psycopg reports 28P01 at connect time
    with sqlstate None, so the message is how an authentication failure is recognised)."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text.split("FATAL:", 1)[-1].strip()


pool = ConnectionPool(kwargs=CONN, min_size=2, max_size=8, timeout=ACQUIRE_TIMEOUT, open=False,
                      max_lifetime=float(os.environ.get("POOL_MAX_LIFETIME_S", "3600")),
                      reconnect_timeout=float(os.environ.get("POOL_RECONNECT_TIMEOUT_S", "300")),
                      name="app")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?")[0]
        if path == "/healthz":
            self._send(200, {"ok": True})
        elif path == "/healthz/db":
            self._db_check()
        elif path == "/orders":
            self._orders()
        else:
            self._send(404, {"error": f"no route {path}"})

    def _db_check(self) -> None:
        start = time.monotonic()
        try:
            with psycopg.connect(**CONN) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as err:
            why = reason(err)
            self._send(503, {"ok": False, "user": CONN["user"], "reason": why, "auth_failed": AUTH_FAILED in why})
            return
        self._send(200, {"ok": True, "user": CONN["user"], "ms": round((time.monotonic() - start) * 1000, 1)})

    def _orders(self) -> None:
        try:
            with pool.connection() as conn:
                count = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
        except PoolTimeout:
            self._send(503, {"error": f"no database connection within {ACQUIRE_TIMEOUT:g} s"})
            return
        except psycopg.Error as err:
            self._send(503, {"error": reason(err)})
            return
        self._send(200, {"orders": count})

    def log_message(self, *args) -> None:
        pass


def main() -> None:
    port = int(os.environ.get("PORT", "8080"))
    pool.open(wait=False)  # start serving even if the database refuses us: /healthz stays 200
    log("started", port=port, db_user=CONN["user"], password=fingerprint(CONN["password"]))
    server = ThreadingHTTPServer(("0.0.0.0" if os.environ.get("BIND_ALL") else "127.0.0.1", port), Handler)
    server.daemon_threads = True
    drain = float(os.environ.get("SHUTDOWN_DRAIN_S", "1.0"))

    def on_sigterm(*_: object) -> None:
        # Keep answering while the endpoints still route to us (what a preStop sleep does), then stop.
        log("sigterm", drain_s=drain)
        threading.Timer(drain, server.shutdown).start()

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        pool.close(timeout=1)
    sys.exit(0)


if __name__ == "__main__":
    main()
