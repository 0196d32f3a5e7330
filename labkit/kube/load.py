"""Steady user traffic for a lab: open-loop GETs through Kubernetes Services, never retried.

Each request goes through the API server's service proxy
(``/api/v1/namespaces/NS/services/NAME:PORT/proxy/PATH``), which picks one Ready endpoint
as a Service does - the same on the local cluster and on Kind or EKS. Open loop: requests
leave at the rate whatever the answers do, so a slow backend shows up as latency and
timeouts instead of quietly slowing the load down. With several Services, each request
goes to one of them in proportion to its Ready endpoints (how a weighted ingress splits a
canary from stable). Registered with the run: stopped with it at the latest.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ..runtime import Run
from ..waiting import wait_until


def service_get(api_client, service: str, path: str, namespace: str = "default",
                timeout: float = 10.0) -> tuple[int, bytes]:
    """GET path from a Service (``name`` or ``name:port``) through the API server's proxy; (status, body)."""
    core = client.CoreV1Api(api_client)
    try:
        resp = core.connect_get_namespaced_service_proxy_with_path(
            service, namespace, path.lstrip("/"), _preload_content=False, _request_timeout=timeout)
    except ApiException as err:
        return err.status, (err.body.encode() if isinstance(err.body, str) else err.body or b"")
    return resp.status, resp.data


def ready_endpoints(api_client, service: str, namespace: str = "default") -> int:
    """How many Ready addresses a Service's Endpoints list."""
    name = service.split(":", 1)[0]
    try:
        ep = client.CoreV1Api(api_client).read_namespaced_endpoints(name, namespace)
    except ApiException:
        return 0
    return sum(len(s.addresses or []) for s in ep.subsets or [])


def is_api_status(body: bytes) -> bool:
    """The API server's own answer (a Status: no endpoint, proxy error) rather than the app's."""
    return b'"kind":"Status"' in body.replace(b" ", b"")


class Load:
    """GET `path` at `rate` per second across `services` (names, or name:port); records name each
    request's Service by name."""

    def __init__(self, run: Run, api_client, services: list[str], path: str = "/", rate: float = 20.0,
                 timeout: float = 5.0, namespace: str = "default"):
        self.services, self.path = list(services), path
        self.rate, self.timeout, self.namespace = rate, timeout, namespace
        self.workers = max(16, int(rate * (timeout + 1)))  # open loop: slow answers never slow the sender
        # A client of its own: no retries (urllib3 would resend a timed-out GET three times,
        # hiding the timeout for 4x as long) and a connection for every worker.
        conf = copy.deepcopy(api_client.configuration)
        conf.retries = False
        conf.connection_pool_maxsize = self.workers
        self.api_client = client.ApiClient(conf)
        self.records: list[dict[str, Any]] = []
        self._weights = {s: 1 for s in self.services}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._in_flight: dict[int, float] = {}
        self._ids = itertools.count()
        self._credit = dict.fromkeys(self.services, 0.0)
        self._lock = threading.Lock()
        run.add_cleanup("load", self.stop)

    # -- routing ---------------------------------------------------------------
    def _refresh(self) -> None:
        while not self._stop.is_set():
            if len(self.services) > 1:
                self._weights = {s: ready_endpoints(self.api_client, s, self.namespace) for s in self.services}
            self._stop.wait(0.2)

    def _pick(self) -> str:
        """Smooth weighted round-robin over the Services (all equal when none has endpoints)."""
        weights = self._weights if any(self._weights.values()) else dict.fromkeys(self.services, 1)
        with self._lock:
            total = sum(weights.values())
            for s in self.services:
                self._credit[s] += weights.get(s, 0)
            best = max(self.services, key=lambda s: self._credit[s])
            self._credit[best] -= total
            return best

    # -- requests ----------------------------------------------------------------
    def _one(self, key: int, service: str) -> None:
        start = time.time()
        status, error = None, ""
        try:
            status, body = service_get(self.api_client, service, self.path, self.namespace, self.timeout)
            if status != 200 and is_api_status(body):
                error = "routing"  # no Ready endpoint, or the proxy could not reach it
        except (TimeoutError, OSError) as err:
            error = "timeout" if isinstance(err, TimeoutError) or "timed out" in str(err).lower() else "transport"
        except Exception as err:  # urllib3 wraps timeouts in its own types
            error = "timeout" if "timed out" in str(err).lower() or "Timeout" in type(err).__name__ else "transport"
        finally:
            self._in_flight.pop(key, None)
        self.records.append({"t": start, "service": service.split(":", 1)[0], "status": status, "ok": status == 200,
                             "error": error, "latency": time.time() - start})

    def _drive(self) -> None:
        with ThreadPoolExecutor(self.workers) as pool:
            next_at = time.monotonic()
            while not self._stop.is_set():
                key = next(self._ids)
                self._in_flight[key] = time.time()
                pool.submit(self._one, key, self._pick())
                next_at += 1.0 / self.rate
                self._stop.wait(max(0.0, next_at - time.monotonic()))
            pool.shutdown(wait=False, cancel_futures=True)

    def start(self) -> Load:
        """Start the load threads (weighting the Services by their Ready pods)."""
        if len(self.services) > 1:
            self._weights = {s: ready_endpoints(self.api_client, s, self.namespace) for s in self.services}
        for target in (self._refresh, self._drive):
            t = threading.Thread(target=target, name=f"load-{target.__name__}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        """Stop sending and wait for the threads."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout=self.timeout + 2)

    def __enter__(self) -> Load:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what happened ---------------------------------------------------------------
    def drain(self, until: float, timeout: float = 30.0) -> None:
        """Wait until every request sent up to `until` has been answered (or has failed)."""
        wait_until(lambda: all(t > until for t in list(self._in_flight.values())), timeout=timeout,
                   what="requests in flight")

    def _rows(self, since: float, until: float, service: str | None) -> list[dict[str, Any]]:
        return [r for r in list(self.records) if since <= r["t"] <= until and service in (None, r["service"])]

    def count(self, since: float = 0.0, until: float = float("inf"), service: str | None = None) -> int:
        """Requests sent in [since, until), for one Service or all."""
        return len(self._rows(since, until, service))

    def failure_kinds(self, since: float = 0.0, until: float = float("inf"),
                      service: str | None = None) -> dict[str, int]:
        """Failed requests in [since, until) by kind: 5xx (the app answered with an error), 4xx,
        routing (no Ready endpoint), timeout and transport (the request did not come back)."""
        kinds: dict[str, int] = {}
        for r in self._rows(since, until, service):
            if not r["ok"]:
                kind = r["error"] or (f"{r['status'] // 100}xx" if r["status"] else "transport")
                kinds[kind] = kinds.get(kind, 0) + 1
        return kinds

    def failures(self, since: float = 0.0, until: float = float("inf"), service: str | None = None) -> int:
        """Failed requests (5xx, routing errors, timeouts) in [since, until)."""
        return sum(self.failure_kinds(since, until, service).values())

    def summary(self, service: str, since: float = 0.0) -> dict[str, Any]:
        """One Service's requests since a moment, as the client saw them: counts by outcome and P99."""
        rows = self._rows(since, float("inf"), service)
        done = sorted(r["latency"] for r in rows if r["status"] is not None)
        return {"requests": len(rows),
                "errors_5xx": sum(1 for r in rows if (r["status"] or 0) >= 500 and r["error"] != "routing"),
                "routing_errors": sum(1 for r in rows if r["error"] == "routing"),
                "timeouts": sum(1 for r in rows if r["error"] == "timeout"),
                "transport_errors": sum(1 for r in rows if r["error"] == "transport"),
                "p99_client_s": round(done[int(0.99 * (len(done) - 1))], 3) if done else None}
