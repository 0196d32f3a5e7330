"""The canary judge, pure: samples in, verdicts, strikes and a decision out (no Prometheus, no clock).

No data is not healthy: an empty result, NaN, too few requests or an unreachable
Prometheus make a check *inconclusive* - strikes stay as they are, never reset - and
too many inconclusive checks in a row stop the watcher with a clear message. With
``on_no_data="fail"`` a check without data is a failed check instead, as Flagger and Argo
Rollouts count it: a hung canary is then rolled back, not left serving.
Judging is a pure function of the samples, so v1 and v2 can judge the very same samples,
and ``replay`` can re-judge recorded ones with other thresholds.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..errors import InputError

SIGNALS = ("errors", "latency", "inflight")


@dataclass(frozen=True)
class WatchConfig:
    """What a watcher looks at and when it acts."""

    name: str = "watcher"
    app: str = "myapp-canary"
    signals: tuple[str, ...] = ("errors", "latency")
    error_threshold: float = 0.05
    latency_threshold: float = 2.0
    inflight_threshold: float = 10.0
    policy: str = "consecutive"  # or "total" (Argo Rollouts' failureLimit)
    strikes: int = 3
    failure_limit: int = 2  # total policy: roll back when failures exceed this
    max_inconclusive: int = 5  # consecutive inconclusive checks before stopping
    baseline_app: str | None = None  # judge relative to stable: differences, not absolutes
    min_requests: float = 0.0
    on_no_data: str = "hold"  # hold: inconclusive, strikes unchanged; fail: a failed check (Flagger, Argo Rollouts)
    act: bool = True  # False = dry run: decide, never touch the deployment

    def __post_init__(self) -> None:
        unknown = set(self.signals) - set(SIGNALS)
        if unknown or not self.signals:
            raise InputError(f"signals must be a non-empty subset of {', '.join(SIGNALS)}; got {', '.join(self.signals)}")
        if self.policy not in ("consecutive", "total"):
            raise InputError("policy must be consecutive or total")
        if self.on_no_data not in ("hold", "fail"):
            raise InputError("on_no_data must be hold or fail")
        if self.strikes < 1 or self.failure_limit < 0 or self.max_inconclusive < 1:
            raise InputError("strikes and max_inconclusive must be at least 1, failure_limit at least 0")

    def with_(self, **changes: Any) -> WatchConfig:
        """A copy with these settings changed (None leaves a setting as it is)."""
        return replace(self, **{k: (tuple(v) if k == "signals" else v) for k, v in changes.items() if v is not None})


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


@dataclass
class Check:
    """One judged sample."""

    t: float
    values: dict[str, float | None]
    verdict: str  # healthy | breach | inconclusive
    reasons: list[str]
    strikes: int
    failures: int
    inconclusive_run: int
    action: str = ""  # rollback | would_rollback | stop


@dataclass
class Judge:
    """A config's running state over a stream of samples."""

    config: WatchConfig
    strikes: int = 0
    failures: int = 0
    inconclusive_run: int = 0
    inconclusive_total: int = 0
    checks: list[Check] = field(default_factory=list)
    decided: str = ""  # "" | rollback | stopped

    def judge(self, s: dict[str, Any]) -> Check:
        """Judge one sample; update strikes; decide."""
        c = self.config
        reasons, breach, unknown = [], False, False
        values: dict[str, float | None] = {}
        if "error" in s:
            unknown = True
            reasons.append(f"Prometheus unreachable: {s['error']}")
        else:
            requests = s.get(f"{c.app}:requests")
            values["requests"] = requests
            too_few = c.min_requests and (not _finite(requests) or requests < c.min_requests)
            if too_few:  # not enough traffic to judge at all
                unknown = True
                reasons.append(f"only {requests} requests in the window (< {c.min_requests:g})")
            for signal, key, limit in () if too_few else (("errors", "error_rate", c.error_threshold),
                                       ("latency", "p99", c.latency_threshold),
                                       ("inflight", "inflight", c.inflight_threshold)):
                if signal not in c.signals:
                    continue
                value = s.get(f"{c.app}:{key}")
                values[key] = value
                if c.baseline_app and signal != "inflight":
                    base = s.get(f"{c.baseline_app}:{key}")
                    values[f"baseline_{key}"] = base
                    value = value - base if _finite(value) and _finite(base) else float("nan")
                if not _finite(value):
                    unknown = True
                    reasons.append(f"{key}: no data ({'empty' if value is None else 'NaN'})")
                elif value > limit:
                    breach = True
                    reasons.append(f"{key} {value:.3g} > {limit:g}")
        verdict = "breach" if breach else "inconclusive" if unknown else "healthy"
        if verdict == "inconclusive" and c.on_no_data == "fail":
            verdict = "breach"  # what progressive-delivery controllers do with a check that has no data
            reasons.append("no data counts as a failed check")
        if verdict == "breach":
            self.strikes += 1
            self.failures += 1
            self.inconclusive_run = 0
        elif verdict == "healthy":
            self.strikes = 0
            self.inconclusive_run = 0
        else:  # no data: strikes unchanged, never reset to healthy
            self.inconclusive_run += 1
            self.inconclusive_total += 1
        check = Check(s["t"], values, verdict, reasons, self.strikes, self.failures, self.inconclusive_run)
        if not self.decided:
            failed = (self.strikes >= c.strikes) if c.policy == "consecutive" else (self.failures > c.failure_limit)
            if failed:
                self.decided = "rollback"
                check.action = "rollback" if c.act else "would_rollback"
            elif self.inconclusive_run > c.max_inconclusive:
                self.decided = "stopped"
                check.action = "stop"
        self.checks.append(check)
        return check

    @property
    def rolled_back(self) -> bool:
        """The watcher decided to roll back."""
        return self.decided == "rollback"

    @property
    def message(self) -> str:
        """One line on what the watcher decided, and on which check."""
        if self.decided == "rollback":
            at, deciding = next((i, ch) for i, ch in enumerate(self.checks, 1) if ch.action)
            verb = "rolled back" if self.config.act else "would roll back (dry run)"
            return f"{self.config.name}: {verb} at check {at} of {len(self.checks)}: {'; '.join(deciding.reasons)}"
        if self.decided == "stopped":
            return (f"{self.config.name}: stopped - {self.inconclusive_run} inconclusive checks in a row "
                    f"({'; '.join(self.checks[-1].reasons)}): no data is not healthy")
        return f"{self.config.name}: no rollback in {len(self.checks)} checks"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: the decision, the checks, the strikes."""
        return {"name": self.config.name, "decided": self.decided or "none", "rolled_back": self.rolled_back,
                "checks": len(self.checks), "inconclusive_checks": self.inconclusive_total,
                "strikes": self.strikes, "failures": self.failures, "message": self.message,
                "config": {k: v for k, v in asdict(self.config).items()},
                "records": [asdict(ch) for ch in self.checks]}


def judge_samples(samples: list[dict[str, Any]], configs: list[WatchConfig]) -> list[Judge]:
    """Judge recorded samples with several configs (no action): the same samples for each."""
    judges = [Judge(replace(c, act=False)) for c in configs]
    for s in samples:
        for j in judges:
            j.judge(s)
    return judges
