"""Lab 05 as functions the notebook calls: stable and canary on the cluster, Prometheus, load, breaks."""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client

from ..cluster import rollout, start_cluster
from ..errors import InputError
from ..prometheus import Prometheus, start_prometheus
from ..runtime import Run, wait_until

IMAGE = "labkit/canary-app"
STABLE, CANARY = "myapp-stable", "myapp-canary"


def _seconds(window: str) -> float:
    """A PromQL duration like 10s, 1m, 2h in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit in ("ms", "s", "m", "h"):
        if window.endswith(unit) and window[: -len(unit)].isdigit():
            return float(window[: -len(unit)]) * units[unit]
    raise InputError(f"window {window!r} is not a PromQL duration like 10s or 1m")


def deployment(name: str, replicas: int, env: dict[str, str] | None = None) -> dict[str, Any]:
    """A Deployment of the canary app, annotated for scraping."""
    return {"metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name},
                                               "annotations": {"prometheus.io/scrape": "true",
                                                               "prometheus.io/port": "8080"}},
                                  "spec": {"terminationGracePeriodSeconds": 2, "containers": [{
                                      "name": "app", "image": IMAGE, "ports": [{"containerPort": 8080}],
                                      "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
                                      "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080},
                                                         "periodSeconds": 1}}]}}}}


class LoadGenerator:
    """Round-robin over the Ready pods of both deployments; never retries; client-side latency and
    transport errors (timeouts, refused connections) recorded per deployment."""

    def __init__(self, api_client, apps: tuple[str, ...] = (STABLE, CANARY), rate: float = 20.0,
                 timeout: float = 8.0, namespace: str = "default"):
        self.api_client, self.apps, self.rate, self.timeout, self.ns = api_client, apps, rate, timeout, namespace
        self.records: list[dict[str, Any]] = []
        self._targets: list[tuple[str, str, str]] = []  # (app, pod, url)
        self._stop = threading.Event()
        self._rr = itertools.count()
        self._threads: list[threading.Thread] = []

    def _refresh(self) -> None:
        while not self._stop.is_set():
            targets = []
            for app in self.apps:
                try:
                    pods = rollout.ready_pods(self.api_client, app, self.ns)
                except Exception:
                    continue
                for p in pods:
                    ports = json.loads((p.metadata.annotations or {}).get("labkit.dev/ports", "{}"))
                    if "8080" in ports:  # the local cluster: straight to the pod's port on 127.0.0.1
                        targets.append((app, p.metadata.name, f"http://127.0.0.1:{ports['8080']}/"))
                    else:
                        targets.append((app, p.metadata.name, ""))
            self._targets = targets
            self._stop.wait(0.2)

    def _one(self) -> None:
        targets = self._targets
        if not targets:
            return
        app, pod, url = targets[next(self._rr) % len(targets)]
        start = time.time()
        status, error = None, ""
        try:
            if url:
                with urllib.request.urlopen(url, timeout=self.timeout) as resp:
                    status = resp.status
            else:
                status, _ = rollout.proxy_get(self.api_client, pod, 8080, "/", self.ns, timeout=self.timeout)
        except urllib.error.HTTPError as err:
            status = err.code
        except (TimeoutError, OSError) as err:
            error = "timeout" if "timed out" in str(err) or isinstance(err, TimeoutError) else "transport"
        self.records.append({"t": start, "app": app, "pod": pod, "status": status, "error": error,
                             "latency": time.time() - start})

    def _drive(self) -> None:
        workers = max(16, int(self.rate * (self.timeout + 1)))  # open loop: slow answers never slow the sender
        with ThreadPoolExecutor(workers) as pool:
            next_at = time.monotonic()
            while not self._stop.is_set():
                pool.submit(self._one)
                next_at += 1.0 / self.rate
                self._stop.wait(max(0.0, next_at - time.monotonic()))
            pool.shutdown(wait=False, cancel_futures=True)

    def start(self) -> LoadGenerator:
        for target in (self._refresh, self._drive):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=self.timeout + 2)

    def summary(self, app: str, since: float = 0.0) -> dict[str, Any]:
        rows = [r for r in self.records if r["app"] == app and r["t"] >= since]
        done = sorted(r["latency"] for r in rows if r["status"] is not None)
        return {"requests": len(rows), "errors_5xx": sum(1 for r in rows if (r["status"] or 0) >= 500),
                "timeouts": sum(1 for r in rows if r["error"] == "timeout"),
                "transport_errors": sum(1 for r in rows if r["error"] == "transport"),
                "p99_client_s": round(done[int(0.99 * (len(done) - 1))], 3) if done else None}


@dataclass
class CanaryLab:
    run: Run
    api_client: Any
    prom: Prometheus
    cluster: Any
    kubeconfig: str = ""  # what kubectl uses to look at the same cluster
    load: LoadGenerator | None = None
    events: list[tuple[str, float]] = field(default_factory=list)

    def mark(self, label: str) -> None:
        self.events.append((label, time.time()))

    def release(self, env: dict[str, str], timeout: float = 60.0) -> float:
        """Roll out a new canary revision with this environment; returns when its pod is Ready (wall time)."""
        apps = client.AppsV1Api(self.api_client)
        containers = [{"name": "app", "env": [{"name": k, "value": v} for k, v in env.items()]}]
        apps.patch_namespaced_deployment(CANARY, "default", {"spec": {"template": {"spec": {"containers": containers}}}})
        self.mark("new canary revision")
        rollout.wait_rollout(self.api_client, CANARY, "default", timeout)
        ready = time.time()
        self.mark("canary pod Ready")
        return ready

    def settle(self, window: str = "10s", timeout: float = 90.0) -> None:
        """Wait until the canary's rollout is complete and its P99 and error rate stayed low for a whole
        window: a released pod's requests keep arriving in the window for a while after it is gone."""
        from .watch import queries

        rollout.wait_rollout(self.api_client, CANARY, "default", timeout)
        # the old pod's last answers may still be scraped: judge only once a whole window has
        # passed since it went away
        clean_from = time.time() + _seconds(window) + 1.0
        q = queries(CANARY, window)
        checks = [f"max_over_time(({promql})[{window}:1s]) < {limit}"
                  for promql, limit in ((q["p99"], 1.0), (q["error_rate"], 0.01))]

        def settled() -> bool:
            try:
                return time.time() >= clean_from and all(self.prom.scalar(c) is not None for c in checks)
            except Exception:
                return False

        wait_until(settled, timeout=timeout, what="the canary's window to clear")

    def undo(self) -> int:
        """rollout undo of the canary (what the watcher's action does)."""
        self.mark("rollout undo")
        return rollout.undo(self.api_client, CANARY, "default")

    def history(self) -> list[dict[str, Any]]:
        return [vars(r) | {"images": list(r.images)} for r in rollout.history(self.api_client, CANARY, "default")]

    def ports(self) -> list[int]:
        ports = [p for proc in self.run.processes for p in proc.ports.values()]
        if self.cluster is not None:
            ports.append(int(self.cluster.url.rsplit(":", 1)[1]))
            ports += [p for r in list(self.cluster.pods.values()) for p in r.ports.values()]
        return sorted(set(ports))


def start_lab(run: Run, cluster_backend: str = "local", kubeconfig: str | None = None,
              prometheus_url: str | None = None, rate: float = 20.0, stable_replicas: int = 3,
              scrape_interval: str = "1s", timeout: float = 60.0) -> CanaryLab:
    """myapp-stable (3) and myapp-canary (1), a real Prometheus scraping every pod, load running."""
    cluster = None
    if cluster_backend == "local":
        cluster = start_cluster(run)
        api_client = cluster.api_client()
    elif cluster_backend == "kubeconfig":
        from kubernetes import config as kube_config

        if not kubeconfig or not prometheus_url:
            raise InputError("a real cluster needs kubeconfig and prometheus_url (see labs/05-canary-rollback/k8s)")
        api_client = kube_config.new_client_from_config(config_file=kubeconfig)
    else:
        raise InputError(f"unknown cluster backend {cluster_backend!r}: use local or kubeconfig")
    apps = client.AppsV1Api(api_client)
    apps.create_namespaced_deployment("default", deployment(STABLE, stable_replicas))
    apps.create_namespaced_deployment("default", deployment(CANARY, 1, {"LATENCY_S": "0"}))
    for name in (STABLE, CANARY):
        rollout.wait_rollout(api_client, name, "default", timeout)
    if cluster is not None:
        prom = start_prometheus(run, cluster.targets_file, scrape_interval=scrape_interval)
    else:
        url = prometheus_url or ""
        prom = Prometheus(run, url.rstrip("/"), int(url.rsplit(":", 1)[-1].split("/")[0] or 0))
    lab = CanaryLab(run, api_client, prom, cluster, str(cluster.kubeconfig) if cluster is not None else kubeconfig)
    lab.load = LoadGenerator(api_client, rate=rate).start()
    run.add_cleanup("canary load", lab.load.stop)
    for app in (STABLE, CANARY):  # the first scrape comes seconds after start: poll, never sleep
        prom.wait_for_data(f'sum(rate(http_requests_total{{app="{app}"}}[10s])) > 0', timeout=timeout)
    return lab
