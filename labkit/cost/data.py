"""The daily cost table the checks judge: one row per calendar day, one column per group
(a service, or whatever the response's ``GroupDefinitions`` say the keys are), dollars as
floats, missing cells $0 - the baseline is counted in calendar days, never list positions.
Reading Cost Explorer's responses into it is labkit.cost.responses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..errors import InputError

UNTAGGED = "(untagged)"


@dataclass(frozen=True)
class Grouping:
    """What a group's Keys mean, from GroupDefinitions ((Type, Key) pairs, in order)."""

    definitions: tuple[tuple[str, str], ...] = (("DIMENSION", "SERVICE"),)
    assumed: bool = False  # no GroupDefinitions came with the data: read as SERVICE
    total: bool = False  # no groups at all: the Total of each day is judged as one series

    @classmethod
    def from_response(cls, definitions: Any, where: str) -> Grouping:
        """The grouping a Cost Explorer response declares (GroupDefinitions); where names the input for errors."""
        if definitions is None:
            return cls(assumed=True)
        if not isinstance(definitions, list) or not definitions:
            raise InputError(f"{where}: GroupDefinitions must be a non-empty list")
        pairs = []
        for i, d in enumerate(definitions):
            if not isinstance(d, dict) or not isinstance(d.get("Key"), str):
                raise InputError(f"{where}: GroupDefinitions[{i}] needs Type and Key")
            pairs.append((str(d.get("Type") or "DIMENSION"), d["Key"]))
        return cls(tuple(pairs))

    @property
    def names(self) -> list[str]:
        """SERVICE, LINKED_ACCOUNT, TAG:ProjectId, COST_CATEGORY:Team, ..."""
        if self.total:
            return ["TOTAL"]
        return [key if kind == "DIMENSION" else f"{kind}:{key}" for kind, key in self.definitions]

    def describe(self) -> str:
        """One line on how the series were grouped."""
        if self.total:
            return "no grouping: each day's Total judged as one series"
        text = " then ".join(self.names)
        return f"{text} (assumed: the input has no GroupDefinitions)" if self.assumed else text

    def group(self, keys: list[Any], where: str) -> dict[str, str]:
        """The group a Keys list names: {"TAG:ProjectId": "(untagged)", "SERVICE": "AWS Lambda"}."""
        if len(keys) != len(self.definitions) or not all(isinstance(k, str) for k in keys):
            raise InputError(f"{where}: Keys {keys!r} do not match the grouping {' then '.join(self.names)}"
                             + (" (the input has no GroupDefinitions to say what they are)" if self.assumed else ""))
        out = {}
        for (kind, key), name, value in zip(self.definitions, self.names, keys, strict=True):
            if kind in ("TAG", "COST_CATEGORY"):  # Cost Explorer writes these as "Key$Value"
                prefix = f"{key}$"
                value = value[len(prefix):] if value.startswith(prefix) else value
                value = value or UNTAGGED
            out[name] = value
        return out

    def label(self, group: dict[str, str]) -> str:
        """The table column of a group (see group_label)."""
        return group_label(group)


def group_label(group: dict[str, str]) -> str:
    """A group as text: the service name alone when grouped by SERVICE only, else KEY=value / KEY=value."""
    if list(group) in (["SERVICE"], ["TOTAL"]):
        return next(iter(group.values()))
    return " / ".join(f"{k}={v}" for k, v in group.items())


@dataclass
class DailyCosts:
    """Dollars per calendar day and service, plus which days AWS marked as estimated."""

    table: pd.DataFrame  # index: DatetimeIndex of days, columns: group labels, values: dollars
    estimated: pd.Series  # index: the same days, values: bool
    groups: dict[str, dict[str, str]] | None = None  # column label -> its group; None: grouped by SERVICE
    grouping: Grouping = Grouping()

    def group(self, label: str) -> dict[str, str]:
        """The group keys behind a column label."""
        return (self.groups or {}).get(label) or {"SERVICE": label}

    @property
    def days(self) -> list[dt.date]:
        """The days of the series."""
        return [d.date() for d in self.table.index]

    @property
    def services(self) -> list[str]:
        """The groups (columns) of the series."""
        return list(self.table.columns)

    def until(self, today: dt.date) -> DailyCosts:
        """Only days before today: today and later are incomplete and never judged."""
        keep = self.table.index < pd.Timestamp(today)
        return DailyCosts(self.table.loc[keep], self.estimated.loc[keep], self.groups, self.grouping)

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
        return complete_days(table, est, None, None)

    @classmethod
    def empty(cls) -> DailyCosts:
        """A series with no days and no groups."""
        index = pd.DatetimeIndex([], name="date")
        return cls(pd.DataFrame(index=index, dtype=float), pd.Series(dtype=bool, index=index))


def complete_days(
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
