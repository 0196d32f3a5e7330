"""Lab 05 as functions the notebook calls: labs/05-canary-rollback/k8s/ applied, Prometheus, load, breaks.

What runs is the YAML in labs/05-canary-rollback/k8s/ as written (stable and canary, each
behind its Service); a release changes only the canary's env. Prometheus is the one in
labs/05-canary-rollback/prometheus/ (on this machine, discovering and scraping the pods
through the cluster's API), unless prometheus_url names the cluster's own.
"""

from __future__ import annotations

import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client

from ..cluster import Cluster, open_cluster
from ..errors import InputError
from ..kube import manifests, rollout
from ..kube.load import Load
from ..paths import LABS
from ..prometheus import PromError, Prometheus, start_kubernetes_prometheus
from ..runtime import Run
from ..waiting import wait_until

LAB = LABS / "05-canary-rollback"
STABLE, CANARY = "myapp-stable", "myapp-canary"


def _seconds(window: str) -> float:
    """A PromQL duration like 10s, 1m, 2h in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit in ("ms", "s", "m", "h"):
        if window.endswith(unit) and window[: -len(unit)].isdigit():
            return float(window[: -len(unit)]) * units[unit]
    raise InputError(f"window {window!r} is not a PromQL duration like 10s or 1m")


@dataclass
class CanaryLab:
    """Lab 05 running: the cluster, its Prometheus, the load, and what happened when."""
    run: Run
    cluster: Cluster
    prom: Prometheus
    load: Load | None = None
    events: list[tuple[str, float]] = field(default_factory=list)

    @property
    def api_client(self) -> Any:
        """The Kubernetes API client of the lab's cluster."""
        return self.cluster.api_client

    @property
    def kubeconfig(self) -> str:
        """What kubectl uses to look at the same cluster."""
        return self.cluster.kubeconfig

    def mark(self, label: str) -> None:
        """Note a moment for the figure (a release, a rollback)."""
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
        self.wait_scraped(CANARY, timeout)
        return ready

    def _ready_pods(self, app: str) -> list[str]:
        """The names of app's Ready pods (a PromQL pod=~ pattern is them joined with |)."""
        return [p.metadata.name for p in rollout.ready_pods(self.api_client, app, "default")]

    def wait_scraped(self, app: str, timeout: float = 60.0) -> float:
        """Wait until Prometheus has scraped every Ready pod of app (`up` is 1 for each): a watcher
        started before discovery has found a new pod judges the pod that is gone, or nothing -
        a loaded machine once spent a hung canary's whole inconclusive budget that way."""
        names = self._ready_pods(app)

        def seen() -> bool:
            try:
                found = {r["metric"].get("pod"): r["value"][1] for r in self.prom.query(
                    f'up{{app="{app}",pod=~"{"|".join(names)}"}}')}
            except PromError:
                return False
            return all(found.get(n) == "1" for n in names)

        return wait_until(seen, timeout=timeout, what=f"Prometheus to scrape the new {app} pod(s) {', '.join(names)}")

    def settle(self, window: str = "10s", timeout: float = 90.0) -> None:
        """Wait until the canary's window holds only its current pods (wait_window_current) and
        their P99 and error rate are low; both within one timeout."""
        from .fetch import queries

        waited = self.wait_window_current(window, timeout)
        q = queries(CANARY, window)
        low = [f"({q['p99']}) < 1", f"({q['error_rate']}) < 0.01"]

        def settled() -> bool:
            try:
                return all(self.prom.scalar(c) is not None for c in low)
            except PromError:
                return False

        wait_until(settled, timeout=max(0.0, timeout - waited), what="the canary's P99 and error rate to be low")

    def wait_window_current(self, window: str = "10s", timeout: float = 90.0) -> float:
        """Wait until the canary's rollout is complete and Prometheus has no sample of an earlier
        canary pod within the last window: a pod's samples stay in every rate() over the window
        for a window after it is gone, so a watcher started sooner judges the pod that was.
        Returns the seconds the window took to clear."""
        _seconds(window)  # a window Prometheus would refuse is one clear error, not a 90 s wait
        rollout.wait_rollout(self.api_client, CANARY, "default", timeout)
        current = "|".join(self._ready_pods(CANARY))
        earlier = f'count_over_time(http_requests_total{{app="{CANARY}",pod!~"{current}"}}[{window}])'

        def only_current() -> bool:
            try:
                return not self.prom.query(earlier)
            except PromError:
                return False

        return wait_until(only_current, timeout=timeout, what="the canary's window to hold only its current pod")

    def undo(self) -> int:
        """rollout undo of the canary (what the watcher's action does)."""
        self.mark("rollout undo")
        return rollout.undo(self.api_client, CANARY, "default")

    def rollout_status(self, timeout: float = 60.0) -> float:
        """kubectl rollout status of the canary: seconds until its rollout is complete."""
        return rollout.wait_rollout(self.api_client, CANARY, "default", timeout)

    def history(self) -> list[dict[str, Any]]:
        """The canary's rollout history, oldest first, as kubectl rollout history lists it."""
        return [vars(r) | {"images": list(r.images)} for r in rollout.history(self.api_client, CANARY, "default")]

    def ports(self) -> list[int]:
        """Every port the lab listens on here: processes, the local API server, pods, Services."""
        ports = self.run.ports()
        return sorted(set(ports + self.cluster.local_ports()))


def start_lab(run: Run, cluster_backend: str = "local", kubeconfig: str | None = None,
              prometheus_url: str | None = None, rate: float = 20.0, stable_replicas: int = 3,
              scrape_interval: str = "1s", timeout: float = 60.0, image: str | None = None) -> CanaryLab:
    """labs/05-canary-rollback/k8s/ applied, Prometheus scraping every pod, load through both Services."""
    cluster = open_cluster(run, cluster_backend, kubeconfig)
    objects = manifests.read(LAB / "k8s")  # exactly the YAML a learner reads; only these parameters change:
    manifests.set_replicas(objects, STABLE, stable_replicas)
    if image:
        for name in (STABLE, CANARY):
            manifests.set_image(objects, name, image)
    if prometheus_url:
        url = prometheus_url.rstrip("/")
        prom = Prometheus(run, url, urllib.parse.urlsplit(url).port or 0)
    else:  # started first: its discovery finds the pods as they come (it passes new targets on every 5 s)
        prom = start_kubernetes_prometheus(run, LAB / "prometheus" / "prometheus.yml", cluster.api_client,
                                           scrape_interval=scrape_interval)
    created: list[dict] = []
    if cluster.local is None:  # a real cluster keeps what the lab applied: remove it with the run
        run.add_cleanup("lab 05 objects", lambda: manifests.delete(cluster.api_client, created))
    manifests.apply(cluster.api_client, objects, existing="fail", created=created)
    for name in (STABLE, CANARY):
        rollout.wait_rollout(cluster.api_client, name, "default", timeout)
    lab = CanaryLab(run, cluster, prom)
    lab.load = Load(run, cluster.api_client, [f"{STABLE}:http", f"{CANARY}:http"], "/", rate=rate,
                    timeout=8.0).start()
    for app in (STABLE, CANARY):  # the first scrape comes seconds after start: poll, never sleep
        prom.wait_for_data(f'sum(rate(http_requests_total{{app="{app}"}}[10s])) > 0', timeout=timeout)
    return lab


def shared_slowdown(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The slow canary's recording as if a shared dependency had slowed stable just as much:
    stable's latency and in-flight values replaced by the canary's (everything else as recorded).
    A watcher that judges the canary alone rolls back a release that is not to blame."""
    out = []
    for sample in samples:
        copy = dict(sample)
        for key in ("p99", "inflight"):
            if f"{CANARY}:{key}" in sample:
                copy[f"{STABLE}:{key}"] = sample[f"{CANARY}:{key}"]
        out.append(copy)
    return out
