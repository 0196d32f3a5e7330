"""Lab 01 set up: the embedded Cost Explorer (or real AWS) and the bill it answers with."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ..aws import AwsTarget, EmbeddedAWS, open_backend
from ..errors import InputError
from ..runtime import Run
from .data import DailyCosts
from .fetch import Fetched, fetch_daily_costs
from .sample import responses, sample_costs


def utc_today() -> dt.date:
    """Today in UTC: Cost Explorer's days are UTC days."""
    return dt.datetime.now(dt.UTC).date()


def parse_today(value: str | dt.date | None) -> dt.date:
    """A pinned 'today' (YYYY-MM-DD) or the real UTC date."""
    if value is None or value == "":
        return utc_today()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"today must be YYYY-MM-DD, got {value!r}") from None


@dataclass
class CostLab:
    """The running lab: where Cost Explorer calls go and which days are read."""

    target: AwsTarget
    today: dt.date
    days: int
    endpoint: EmbeddedAWS | None = None
    page_days: int = 10
    simulated: bool = False  # True on real AWS: breaks are applied to a copy, not the bill
    _injected: DailyCosts | None = field(default=None, repr=False)

    def publish(self, costs: DailyCosts) -> None:
        """Make costs what Cost Explorer returns: seed the embedded endpoint (local only)."""
        if self.endpoint is None:
            self._injected = costs  # a real bill cannot be edited: judge the copy instead
            return
        self.endpoint.reset()  # moto caches answers per request: forget the old bill
        self.endpoint.seed_cost_and_usage(responses(costs, self.page_days))

    def fetch(self) -> Fetched:
        """Read the bill back through boto3, exactly as against AWS."""
        fetched = fetch_daily_costs(self.target, self.today, self.days)
        if self._injected is not None:
            fetched.costs = self._injected
        return fetched


def start_lab(run: Run, backend: str = "local", today: str | dt.date | None = None, days: int = 30,
              profile: str | None = None, region: str = "us-east-1", page_days: int = 10) -> CostLab:
    """Start the embedded endpoint (local) or point at real AWS; seed the healthy bill locally."""
    pinned = parse_today(today)
    if days < 15:
        raise InputError("days must be at least 15 (7 baseline days + 7 level-shift days + 1)")
    target, endpoint = open_backend(run, backend, region, profile)  # read-only: no opt-in needed
    lab = CostLab(target, pinned, days, endpoint, page_days, simulated=endpoint is None)
    if endpoint is not None:
        lab.publish(sample_costs(pinned, days))
    return lab
