"""A real Prometheus server for a lab: its config, readiness, and 'has data' by polling.

``kubernetes_config`` points a lab's Prometheus config (Kubernetes service discovery, scrapes
through the API server's pod proxy) at the cluster a kubeconfig names, with its credentials:
the same Prometheus then watches the local cluster or Kind/EKS from this machine.
"""

from __future__ import annotations

import json
import math
import shutil
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ComponentError
from .paths import write_private
from .runtime import Run
from .waiting import LOCALHOST, free_port, http_probe, wait_until

INSTALL_HINT = "apt-get install -y --no-install-recommends prometheus (or conda install -c conda-forge prometheus)"


def find_prometheus() -> str:
    """The prometheus binary on PATH; ComponentError with the install command when there is none."""
    found = shutil.which("prometheus")
    if not found:
        raise ComponentError(f"the prometheus binary is not on PATH: {INSTALL_HINT}")
    return found


class PromError(ComponentError):
    """Prometheus could not answer a query (unreachable, or an error in the query)."""


@dataclass
class Prometheus:
    """A running Prometheus and its HTTP API."""

    run: Run
    url: str
    port: int

    def query(self, promql: str, timeout: float = 5.0) -> list[dict[str, Any]]:
        """An instant query; the result vector (PromError when Prometheus cannot answer)."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                body = json.loads(resp.read())
        except urllib.error.HTTPError as err:
            raise PromError(f"Prometheus rejected the query ({err.code}): {err.read()[:200]!r}") from None
        except (OSError, ValueError) as err:
            raise PromError(f"Prometheus at {self.url} is unreachable: {err}") from None
        return answer_result(body)

    def scalar(self, promql: str) -> float | None:
        """The single value of a query: None when the result is empty; NaN stays NaN."""
        return first_value(self.query(promql))

    def wait_for_data(self, promql: str, timeout: float = 30.0) -> float:
        """Poll until the query returns a finite value (the first scrape comes seconds after start)."""
        def has_data() -> bool:
            try:
                value = self.scalar(promql)
            except PromError:
                return False
            return value is not None and math.isfinite(value)

        return wait_until(has_data, timeout=timeout, what=f"Prometheus data for {promql!r}")


def _copy_private(src: str, dest: Path) -> str:
    write_private(dest, Path(src).read_bytes())
    return str(dest)


def kubernetes_config(template: Path, api_client, secrets_dir: Path) -> dict[str, Any]:
    """The Prometheus config in template, pointed at the cluster api_client talks to.

    Fills in the API server (``api_server``; the ``KUBERNETES_API_ADDRESS`` placeholder of a
    relabel rule) and adds the client's credentials - CA, client certificate or bearer token,
    copied into secrets_dir as 0600 files - to discovery and to the scrapes."""
    import yaml

    config = yaml.safe_load(template.read_text())
    conf = api_client.configuration
    server = conf.host.rstrip("/")
    address = urllib.parse.urlsplit(server).netloc
    secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    tls: dict[str, Any] = {}
    if conf.ssl_ca_cert:
        tls["ca_file"] = _copy_private(conf.ssl_ca_cert, secrets_dir / "ca.crt")
    if not conf.verify_ssl:
        tls["insecure_skip_verify"] = True
    if conf.cert_file and conf.key_file:
        tls["cert_file"] = _copy_private(conf.cert_file, secrets_dir / "client.crt")
        tls["key_file"] = _copy_private(conf.key_file, secrets_dir / "client.key")
    auth: dict[str, Any] = {}
    bearer = conf.get_api_key_with_prefix("authorization") or conf.get_api_key_with_prefix("BearerToken") or ""
    if bearer:
        token = secrets_dir / "token"
        write_private(token, bearer.removeprefix("Bearer ").strip())
        auth = {"authorization": {"type": "Bearer", "credentials_file": str(token)}}
    for job in config.get("scrape_configs") or []:
        for sd in job.get("kubernetes_sd_configs") or []:
            sd["api_server"] = server
            sd.update(auth, **({"tls_config": tls} if tls else {}))
        job.update(auth, **({"tls_config": tls} if tls else {}))
        for rule in job.get("relabel_configs") or []:
            if rule.get("replacement") == "KUBERNETES_API_ADDRESS":
                rule["replacement"] = address
    return config


def start_prometheus(run: Run, config: dict[str, Any], timeout: float = 30.0) -> Prometheus:
    """Prometheus with this config (a dict, as prometheus.yml holds it) on a free port of 127.0.0.1."""
    binary = find_prometheus()
    base = run.dir / "prometheus"
    base.mkdir(exist_ok=True)
    (base / "prometheus.yml").write_text(json.dumps(config, indent=2))  # JSON is valid YAML
    port = free_port()
    url = f"http://{LOCALHOST}:{port}"
    argv = [binary, f"--config.file={base / 'prometheus.yml'}", f"--storage.tsdb.path={base / 'data'}",
            f"--web.listen-address={LOCALHOST}:{port}", "--log.level=warn", "--storage.tsdb.retention.time=1d"]
    run.start_process("prometheus", argv, ready=http_probe(f"{url}/-/ready"), timeout=timeout,
                      ports={"http": port})
    return Prometheus(run, url, port)


def has_kubernetes_sd(binary: str) -> bool:
    """Whether this Prometheus build has kubernetes_sd_configs (Debian's is built without it)."""
    promtool = Path(binary).with_name("promtool")
    if not promtool.exists():
        return True  # upstream builds ship both; assume the full set
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        f.write("scrape_configs: [{job_name: x, kubernetes_sd_configs: [{role: pod, api_server: 'https://127.0.0.1:1'}]}]\n")
        f.flush()
        done = subprocess.run([str(promtool), "check", "config", f.name], capture_output=True, text=True, timeout=30)
    return done.returncode == 0


def start_kubernetes_prometheus(run: Run, template: Path, api_client, scrape_interval: str | None = None,
                                timeout: float = 30.0) -> Prometheus:
    """Prometheus from template (Kubernetes service discovery, scrapes through the API server),
    pointed at the cluster api_client talks to. A build without kubernetes_sd gets the same
    pod list, with the same meta labels, over HTTP service discovery from labkit.kube.podsd."""
    config = kubernetes_config(template, api_client, run.dir / "prometheus-credentials")
    if scrape_interval:
        config["global"].update(scrape_interval=scrape_interval, evaluation_interval=scrape_interval,
                                scrape_timeout=scrape_interval)
    if not has_kubernetes_sd(find_prometheus()):
        from .kube.podsd import PodDiscovery

        discovery = PodDiscovery(run, api_client)
        for job in config["scrape_configs"]:
            sds = job.pop("kubernetes_sd_configs", None) or []
            job["http_sd_configs"] = [
                {"url": f"{discovery.url}/targets?namespace={ns}", "refresh_interval": "1s"}
                for sd in sds for ns in ((sd.get("namespaces") or {}).get("names") or ["default"])]
    return start_prometheus(run, config, timeout=timeout)


def answer_result(body: Any) -> list[dict[str, Any]]:
    """The result vector of an instant query's JSON answer; PromError for a failure or a wrong shape."""
    if not isinstance(body, dict):
        raise PromError(f"Prometheus answered {type(body).__name__}, not a JSON object")
    if body.get("status") != "success":
        raise PromError(f"Prometheus query failed: {body.get('error')}")
    data = body.get("data")
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, list) or not all(isinstance(r, dict) for r in result):
        raise PromError("Prometheus answered success without a result vector")
    return result


def first_value(result: list[dict[str, Any]]) -> float | None:
    """The first sample's value: None when the vector is empty; NaN and +Inf stay what they are."""
    if not result:
        return None
    value = result[0].get("value")
    if not isinstance(value, list) or len(value) != 2:
        raise PromError(f"Prometheus answered a sample without [time, value]: {str(value)[:80]}")
    try:
        return float(value[1])
    except (TypeError, ValueError):
        raise PromError(f"Prometheus answered a value that is not a number: {str(value[1])[:40]}") from None
