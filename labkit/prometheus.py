"""A real Prometheus server for a lab: generated config, file_sd targets, readiness and 'has data' by polling."""

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
from .runtime import LOCALHOST, Run, free_port, http_probe, wait_until

INSTALL_HINT = "apt-get install -y --no-install-recommends prometheus (or conda install -c conda-forge prometheus)"


def find_prometheus() -> str:
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
        if body.get("status") != "success":
            raise PromError(f"Prometheus query failed: {body.get('error')}")
        return body["data"]["result"]

    def scalar(self, promql: str) -> float | None:
        """The single value of a query: None when the result is empty; NaN stays NaN."""
        result = self.query(promql)
        if not result:
            return None
        return float(result[0]["value"][1])

    def wait_for_data(self, promql: str, timeout: float = 30.0) -> float:
        """Poll until the query returns a finite value (the first scrape comes seconds after start)."""
        def has_data() -> bool:
            try:
                value = self.scalar(promql)
            except PromError:
                return False
            return value is not None and math.isfinite(value)

        return wait_until(has_data, timeout=timeout, what=f"Prometheus data for {promql!r}")


def start_prometheus(run: Run, targets_file: Path, scrape_interval: str = "1s", timeout: float = 30.0) -> Prometheus:
    """Prometheus on a free port, scraping the targets in targets_file (file_sd, 1 s refresh)."""
    binary = find_prometheus()
    base = run.dir / "prometheus"
    base.mkdir(exist_ok=True)
    config = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval,
                   "scrape_timeout": scrape_interval},
        "scrape_configs": [{"job_name": "pods", "file_sd_configs": [{"files": [str(targets_file)],
                                                                     "refresh_interval": "1s"}]}],
    }
    (base / "prometheus.yml").write_text(json.dumps(config, indent=2))  # JSON is valid YAML
    port = free_port()
    url = f"http://{LOCALHOST}:{port}"
    argv = [binary, f"--config.file={base / 'prometheus.yml'}", f"--storage.tsdb.path={base / 'data'}",
            f"--web.listen-address={LOCALHOST}:{port}", "--log.level=warn", "--storage.tsdb.retention.time=1d"]
    run.start_process("prometheus", argv, ready=http_probe(f"{url}/-/ready"), timeout=timeout,
                      ports={"http": port})
    return Prometheus(run, url, port)
