"""Cost Explorer data: validate ``ResultsByTime`` entries and turn them into a daily table.

The daily table is wide: one row per calendar day, one column per service, dollars as
floats.  A service with no charge on a day has no group that day, so missing cells
are $0 - the baseline is counted in calendar days, never list positions.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError
from ..jsonfile import read_json

METRIC = "UnblendedCost"


def parse_day(text: Any, where: str) -> dt.date:
    """A YYYY-MM-DD date, or InputError naming where it came from."""
    try:
        return dt.date.fromisoformat(str(text)[:10])
    except ValueError:
        raise InputError(f"{where}: {text!r} is not a YYYY-MM-DD date") from None


def _amount(value: Any, where: str) -> float:
    try:
        amount = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: amount {value!r} is not a number") from None
    if not math.isfinite(amount):
        raise InputError(f"{where}: amount {value!r} is not a finite number")
    if amount < 0:
        raise InputError(
            f"{where}: amount {amount} is negative (credits and refunds are excluded from the "
            "query; filter them out of saved data with RECORD_TYPE)"
        )
    return amount


@dataclass
class DailyCosts:
    """Dollars per calendar day and service, plus which days AWS marked as estimated."""

    table: pd.DataFrame  # index: DatetimeIndex of days, columns: services, values: dollars
    estimated: pd.Series  # index: the same days, values: bool

    @property
    def days(self) -> list[dt.date]:
        return [d.date() for d in self.table.index]

    @property
    def services(self) -> list[str]:
        return list(self.table.columns)

    def until(self, today: dt.date) -> DailyCosts:
        """Only days before today: today and later are incomplete and never judged."""
        keep = self.table.index < pd.Timestamp(today)
        return DailyCosts(self.table.loc[keep], self.estimated.loc[keep])

    def to_records(self) -> list[dict[str, Any]]:
        """Long records (date, service, amount, estimated) - what the widget replays."""
        out = []
        for day, row in self.table.iterrows():
            est = bool(self.estimated.get(day, False))
            for service, amount in row.items():
                out.append(
                    {"date": day.date().isoformat(), "service": service, "amount": float(amount), "estimated": est}
                )
        return out

    @classmethod
    def from_records(cls, records: list[dict[str, Any]]) -> DailyCosts:
        """The inverse of to_records (missing cells are $0)."""
        if not records:
            return cls.empty()
        frame = pd.DataFrame(records)
        frame["date"] = pd.to_datetime(frame["date"])
        table = frame.pivot_table(index="date", columns="service", values="amount", aggfunc="sum")
        est = frame.groupby("date")["estimated"].any()
        return _complete(table, est, None, None)

    @classmethod
    def empty(cls) -> DailyCosts:
        index = pd.DatetimeIndex([], name="date")
        return cls(pd.DataFrame(index=index, dtype=float), pd.Series(dtype=bool, index=index))


def _complete(
    table: pd.DataFrame, est: pd.Series, start: dt.date | None, end: dt.date | None
) -> DailyCosts:
    """Reindex to every calendar day from start to end (exclusive), filling $0."""
    if len(table.index) == 0 and start is None:
        return DailyCosts.empty()
    first = pd.Timestamp(start) if start else table.index.min()
    last = pd.Timestamp(end) - pd.Timedelta(days=1) if end else table.index.max()
    days = pd.date_range(first, last, freq="D", name="date")
    table = table.reindex(days, fill_value=0.0).fillna(0.0).astype(float)
    table = table.reindex(sorted(table.columns), axis=1)
    table.columns.name = "service"
    est = est.reindex(days, fill_value=False).astype(bool)
    return DailyCosts(table, est)


def parse_results(
    results_by_time: Any, start: dt.date | None = None, end: dt.date | None = None, metric: str = METRIC
) -> DailyCosts:
    """Validate Cost Explorer ResultsByTime entries (grouped by SERVICE) into DailyCosts."""
    if not isinstance(results_by_time, list):
        raise InputError("ResultsByTime must be a list of daily entries")
    rows: dict[tuple[pd.Timestamp, str], float] = {}
    estimated: dict[pd.Timestamp, bool] = {}
    for i, entry in enumerate(results_by_time):
        where = f"ResultsByTime[{i}]"
        if not isinstance(entry, dict):
            raise InputError(f"{where}: expected an object, got {type(entry).__name__}")
        period = entry.get("TimePeriod")
        if not isinstance(period, dict) or "Start" not in period:
            raise InputError(f"{where}: missing TimePeriod.Start")
        day = pd.Timestamp(parse_day(period["Start"], f"{where}.TimePeriod.Start"))
        estimated[day] = estimated.get(day, False) or bool(entry.get("Estimated", False))
        groups = entry.get("Groups", [])
        if not isinstance(groups, list):
            raise InputError(f"{where}.Groups: expected a list")
        for j, group in enumerate(groups):
            gwhere = f"{where}.Groups[{j}]"
            if not isinstance(group, dict):
                raise InputError(f"{gwhere}: expected an object")
            keys = group.get("Keys")
            if not isinstance(keys, list) or not keys or not isinstance(keys[0], str):
                raise InputError(f"{gwhere}: missing Keys (the SERVICE name)")
            try:
                raw = group["Metrics"][metric]["Amount"]
            except (KeyError, TypeError):
                raise InputError(f"{gwhere}: missing Metrics.{metric}.Amount") from None
            key = (day, keys[0])
            rows[key] = rows.get(key, 0.0) + _amount(raw, gwhere)
    if rows:
        index = pd.MultiIndex.from_tuples(list(rows), names=["date", "service"])
        table = pd.Series(list(rows.values()), index=index, dtype=float).unstack("service")
    else:
        table = pd.DataFrame(index=pd.DatetimeIndex(sorted(estimated), name="date"), dtype=float)
    return _complete(table, pd.Series(estimated, dtype=bool), start, end)


def load_input(path: str | Path) -> DailyCosts:
    """Read a saved GetCostAndUsage response (or a list of ResultsByTime entries)."""
    data = read_json(path)
    if isinstance(data, dict):
        if "ResultsByTime" not in data:
            raise InputError(f"{path}: a saved response must have a ResultsByTime key")
        data = data["ResultsByTime"]
    try:
        return parse_results(data)
    except InputError as err:
        raise InputError(f"{path}: {err}") from None


def wide_to_results(table: pd.DataFrame, estimated: dict[dt.date, bool] | None = None) -> list[dict]:
    """ResultsByTime entries as Cost Explorer returns them (zero-cost services omitted)."""
    estimated = estimated or {}
    out = []
    for day, row in table.iterrows():
        start = day.date()
        groups = [
            {"Keys": [svc], "Metrics": {METRIC: {"Amount": f"{amt:.10f}", "Unit": "USD"}}}
            for svc, amt in row.items()
            if amt > 0
        ]
        out.append(
            {
                "TimePeriod": {"Start": start.isoformat(), "End": (start + dt.timedelta(days=1)).isoformat()},
                "Total": {},
                "Groups": groups,
                "Estimated": bool(estimated.get(start, False)),
            }
        )
    return out
