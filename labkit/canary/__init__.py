"""Lab 05: canary rollback that watches the right signals in Prometheus."""

from .._lazy import exports

__getattr__, __all__ = exports(__name__, {
    "act": ["watch"],
    "check": ["SIGNALS", "Check", "Judge", "WatchConfig", "judge_samples"],
    "fetch": ["queries", "sample"],
    "replay": ["replay"],
})
