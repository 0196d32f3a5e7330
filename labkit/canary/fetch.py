"""Reading the canary's signals from Prometheus: the PromQL of each signal, and one sample of all."""

from __future__ import annotations

import time
from typing import Any


def queries(app: str, window: str) -> dict[str, str]:
    """The PromQL of every signal for one app. `or vector(0)` on the error numerator: a 5xx
    series exists only after the first 5xx, and without it a healthy app has no error rate."""
    sel = f'app="{app}"'
    return {
        "error_rate": f'(sum(rate(http_requests_total{{{sel},status=~"5.."}}[{window}])) or vector(0))'
                      f" / sum(rate(http_requests_total{{{sel}}}[{window}]))",
        "p99": f"histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{{{sel}}}[{window}])) by (le))",
        "requests": f"sum(increase(http_requests_total{{{sel}}}[{window}]))",
        "inflight": f"sum(http_requests_in_flight{{{sel}}})",
    }


def sample(prom, apps: list[str], window: str) -> dict[str, Any]:
    """One sample of every signal for every app; values None (empty) or NaN; 'error' if unreachable."""
    from ..prometheus import PromError

    out: dict[str, Any] = {"t": time.time()}
    try:
        for app in apps:
            for key, promql in queries(app, window).items():
                out[f"{app}:{key}"] = prom.scalar(promql)
    except PromError as err:
        out["error"] = str(err)
    return out
