"""Reference solution of the Lab 05 exercise: judge the canary against stable, with enough traffic,
and count a check without data as failed - as Flagger and Argo Rollouts do."""


def watcher() -> dict:
    """Settings for WatchConfig: quiet on the healthy and the shared slowdown, rolls back slow and hung."""
    return {"signals": ["errors", "latency"], "baseline_app": "myapp-stable", "min_requests": 10,
            "on_no_data": "fail"}
