"""Cost Explorer data: validate ``ResultsByTime`` entries and turn them into a daily table.

The daily table is wide: one row per calendar day, one column per group (a service, or
whatever the response's ``GroupDefinitions`` say the keys are), dollars as floats. A group
with no charge on a day has no entry that day, so missing cells are $0 - the baseline is
counted in calendar days, never list positions.

What is refused, with one line each: periods that are not one day (MONTHLY, HOURLY or a
custom range - the rules judge days), a page that still carries ``NextPageToken`` (save
every page), a metric the response does not have, keys that do not match the definitions.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError
from ..jsonfile import read_json
from .data import DailyCosts, Grouping, complete_days
from .metrics import METRIC, METRICS


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


def _one_day(period: dict, where: str) -> dt.date:
    """The day a DAILY TimePeriod covers; InputError for any other granularity."""
    start_text, end_text = str(period["Start"]), period.get("End")
    if end_text is None:
        raise InputError(f"{where}: missing TimePeriod.End (cannot tell the granularity)")
    if "T" in start_text or "T" in str(end_text):
        raise InputError(f"{where}: TimePeriod {start_text}..{end_text} is HOURLY data; labkit judges DAILY "
                         "data: export with --granularity DAILY")
    start = parse_day(start_text, f"{where}.TimePeriod.Start")
    end = parse_day(end_text, f"{where}.TimePeriod.End")
    days = (end - start).days
    if days != 1:
        kind = ("MONTHLY data" if start.day == 1 and end.day == 1 and 28 <= days <= 31
                else f"a {days}-day period")
        raise InputError(f"{where}: TimePeriod {start}..{end} is {kind}, not one day; labkit judges DAILY data: "
                         "export with --granularity DAILY (aws ce get-cost-and-usage --granularity DAILY ...)")
    return start


def parse_results(
    results_by_time: Any, start: dt.date | None = None, end: dt.date | None = None, metric: str = METRIC,
    grouping: Grouping | None = None,
) -> DailyCosts:
    """Validate Cost Explorer ResultsByTime entries (DAILY, grouped as `grouping` says) into DailyCosts."""
    if not isinstance(results_by_time, list):
        raise InputError("ResultsByTime must be a list of daily entries")
    if metric not in METRICS:
        raise InputError(f"unknown metric {metric!r}: use one of {', '.join(METRICS)}")
    grouping = grouping or Grouping()
    if not any(isinstance(e, dict) and e.get("Groups") for e in results_by_time) and any(
            isinstance(e, dict) and isinstance(e.get("Total"), dict) and e["Total"] for e in results_by_time):
        grouping = Grouping(total=True)  # an ungrouped response: judge each day's Total
    rows: dict[tuple[pd.Timestamp, str], float] = {}
    labels: dict[str, dict[str, str]] = {}
    estimated: dict[pd.Timestamp, bool] = {}
    for i, entry in enumerate(results_by_time):
        where = f"ResultsByTime[{i}]"
        if not isinstance(entry, dict):
            raise InputError(f"{where}: expected an object, got {type(entry).__name__}")
        period = entry.get("TimePeriod")
        if not isinstance(period, dict) or "Start" not in period:
            raise InputError(f"{where}: missing TimePeriod.Start")
        day = pd.Timestamp(_one_day(period, where))
        estimated[day] = estimated.get(day, False) or bool(entry.get("Estimated", False))
        groups = entry.get("Groups", [])
        if grouping.total:
            total = entry.get("Total") or {}
            if metric not in total:
                raise InputError(_missing_metric(f"{where}.Total", metric, total))
            rows[(day, "TOTAL")] = rows.get((day, "TOTAL"), 0.0) + _amount(total[metric].get("Amount"), where)
            labels["TOTAL"] = {"TOTAL": "TOTAL"}
            continue
        if not isinstance(groups, list):
            raise InputError(f"{where}.Groups: expected a list")
        for j, group in enumerate(groups):
            gwhere = f"{where}.Groups[{j}]"
            if not isinstance(group, dict):
                raise InputError(f"{gwhere}: expected an object")
            keys = group.get("Keys")
            if not isinstance(keys, list) or not keys:
                raise InputError(f"{gwhere}: missing Keys")
            named = grouping.group(keys, gwhere)
            label = grouping.label(named)
            labels[label] = named
            metrics = group.get("Metrics") if isinstance(group.get("Metrics"), dict) else {}
            try:
                raw = metrics[metric]["Amount"]
            except (KeyError, TypeError):
                raise InputError(_missing_metric(f"{gwhere}.Metrics", metric, metrics)) from None
            key = (day, label)
            rows[key] = rows.get(key, 0.0) + _amount(raw, gwhere)
    if rows:
        index = pd.MultiIndex.from_tuples(list(rows), names=["date", "service"])
        table = pd.Series(list(rows.values()), index=index, dtype=float).unstack("service")
    else:
        table = pd.DataFrame(index=pd.DatetimeIndex(sorted(estimated), name="date"), dtype=float)
    if estimated:  # every day the data covers counts, also the ones where nothing was charged
        start = start or min(estimated).date()
        end = end or max(estimated).date() + dt.timedelta(days=1)
    costs = complete_days(table, pd.Series(estimated, dtype=bool), start, end)
    return DailyCosts(costs.table, costs.estimated, labels, grouping)


def _missing_metric(where: str, metric: str, present: Any) -> str:
    have = sorted(k for k in (present or {}) if k in METRICS) if isinstance(present, dict) else []
    hint = f" (this response has {', '.join(have)}: use --metric {have[0]})" if have else ""
    return f"{where}: missing {metric}.Amount{hint}"


def _pages(data: Any, path: str | Path) -> tuple[list, Any]:
    """(ResultsByTime entries, GroupDefinitions) of a saved response, a list of pages, or a bare list."""
    if isinstance(data, dict):
        data = [data]
    elif not (isinstance(data, list) and data and all(isinstance(p, dict) and "ResultsByTime" in p for p in data)):
        return data, None  # a bare ResultsByTime list
    entries: list = []
    definitions = data[0].get("GroupDefinitions")
    for i, page in enumerate(data):
        where = f"page {i + 1} of {len(data)}" if len(data) > 1 else "the response"
        if "ResultsByTime" not in page:
            raise InputError("a saved response must have a ResultsByTime key")
        if page.get("GroupDefinitions") != definitions:
            raise InputError(f"{where}: GroupDefinitions differ from the first page's")
        if page.get("NextPageToken") and i == len(data) - 1:
            raise InputError(f"{where} has a NextPageToken: the response is incomplete - save every page "
                             "(a JSON list of the page responses) or use --endpoint-url/--profile to read it live")
        if not isinstance(page["ResultsByTime"], list):
            raise InputError(f"{where}: ResultsByTime must be a list of daily entries")
        entries += page["ResultsByTime"]
    return entries, definitions


def load_input(path: str | Path, metric: str = METRIC) -> DailyCosts:
    """Read a saved GetCostAndUsage response, a JSON list of its pages, or a bare ResultsByTime list."""
    data = read_json(path)
    try:
        entries, definitions = _pages(data, path)
        grouping = Grouping.from_response(definitions, "the response")
        return parse_results(entries, metric=metric, grouping=grouping)
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
