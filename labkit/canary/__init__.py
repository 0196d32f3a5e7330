"""Lab 05: canary rollback that watches the right signals in Prometheus."""

from .watch import Check, Judge, WatchConfig, judge_samples, queries, replay, watch

__all__ = ["Check", "Judge", "WatchConfig", "judge_samples", "queries", "replay", "watch"]
