"""Reference solution of the Lab 05 exercise: a watcher that also sees requests that never finish."""


def watcher() -> dict:
    """Thresholds for WatchConfig: error rate and P99 as before, plus the in-flight gauge."""
    return {"signals": ["errors", "latency", "inflight"], "inflight_threshold": 3.0}
