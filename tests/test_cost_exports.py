"""`labkit cost check --input` on Cost Explorer exports as people save them: granularity, GroupDefinitions,
pages, nothing judged, rises and drops, the metric - in the shapes the API documents."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest
from conftest import LABKIT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.cost.detect import LEVEL_SHIFT, NEW_SPEND, CostRules, detect
from labkit.cost.responses import load_input
from labkit.errors import InputError

START = dt.date(2024, 2, 1)
TODAY = "2024-03-10"


def day(i: int) -> str:
    return (START + dt.timedelta(days=i)).isoformat()


def entry(i: int, groups: list[tuple[list[str], float]], metric: str = "UnblendedCost", end: str | None = None,
          estimated: bool = False) -> dict:
    return {"TimePeriod": {"Start": day(i), "End": end or day(i + 1)}, "Total": {},
            "Groups": [{"Keys": keys, "Metrics": {metric: {"Amount": f"{amount:.10f}", "Unit": "USD"}}}
                       for keys, amount in groups if amount > 0],
            "Estimated": estimated}


def response(entries: list[dict], definitions: list[tuple[str, str]] | None = (("DIMENSION", "SERVICE"),),
             token: str | None = None) -> dict:
    out: dict = {"ResultsByTime": entries, "DimensionValueAttributes": []}
    if definitions is not None:
        out["GroupDefinitions"] = [{"Type": t, "Key": k} for t, k in definitions]
    if token:
        out["NextPageToken"] = token
    return out


def steady(days: int, keys: list[str], base: float = 10.0) -> list[dict]:
    return [entry(i, [(keys, base + (i % 3) * 0.5)]) for i in range(days)]


def cli(tmp_path, data, *args: str) -> tuple[int, dict | None, str]:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(data))
    proc = subprocess.run([*LABKIT, "cost", "check", "--input", str(path), "--today", TODAY, *args, "--json"],
                          capture_output=True, text=True, timeout=60)
    out = json.loads(proc.stdout) if proc.stdout.strip() else None
    return proc.returncode, out, proc.stderr


def one_line_error(code: int, err: str) -> bool:
    return code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


# -- 1. periods ------------------------------------------------------------------------------------

def test_monthly_data_is_refused_naming_the_granularity(tmp_path):
    months = [{"TimePeriod": {"Start": f"2023-{m:02d}-01", "End": f"2023-{m + 1:02d}-01"}, "Total": {},
               "Groups": [{"Keys": ["Amazon EC2"], "Metrics": {"UnblendedCost": {"Amount": "300", "Unit": "USD"}}}],
               "Estimated": False} for m in range(6, 12)]
    code, _, err = cli(tmp_path, response(months))
    assert one_line_error(code, err) and "MONTHLY" in err and "--granularity DAILY" in err


def test_a_single_custom_period_and_hourly_data_are_refused(tmp_path):
    code, _, err = cli(tmp_path, response([entry(0, [(["EC2"], 90.0)], end=day(30))]))
    assert one_line_error(code, err) and "30-day period" in err
    hourly = {"TimePeriod": {"Start": "2024-02-01T00:00:00Z", "End": "2024-02-01T01:00:00Z"}, "Groups": []}
    code, _, err = cli(tmp_path, response([hourly]))
    assert one_line_error(code, err) and "HOURLY" in err


# -- 2. groups ---------------------------------------------------------------------------------------

def test_tag_then_service_groups_are_named_as_the_definitions_say(tmp_path):
    keys = ["ProjectId$", "AWS Lambda"]
    entries = steady(30, keys)
    entries[-1] = entry(29, [(keys, 80.0)])
    code, out, err = cli(tmp_path, response(entries, (("TAG", "ProjectId"), ("DIMENSION", "SERVICE"))))
    assert code == 2, err
    (finding,) = [a for a in out["anomalies"] if a["kind"] == "spike"]
    assert finding["group"] == {"TAG:ProjectId": "(untagged)", "SERVICE": "AWS Lambda"}
    assert finding["service"] == "AWS Lambda" and out["grouping"] == "TAG:ProjectId then SERVICE"


@pytest.mark.parametrize("dimension,key", [("LINKED_ACCOUNT", "000000000001"), ("RECORD_TYPE", "Usage")])
def test_a_grouping_without_service_names_its_own_dimension(tmp_path, dimension, key):
    entries = steady(30, [key])
    entries[-1] = entry(29, [([key], 80.0)])
    code, out, err = cli(tmp_path, response(entries, ((("DIMENSION", dimension)),)))
    assert code == 2, err
    (finding,) = out["anomalies"]
    assert finding["group"] == {dimension: key} and finding["service"] is None


def test_a_bare_list_is_read_as_service_and_says_so(tmp_path):
    code, out, err = cli(tmp_path, steady(30, ["Amazon EC2"]))
    assert code == 0, err
    assert out["grouping"].startswith("SERVICE (assumed")
    code, _, err = cli(tmp_path, [entry(i, [(["ProjectId$a", "EC2"], 1.0)]) for i in range(30)])
    assert one_line_error(code, err) and "no GroupDefinitions" in err


# -- 3. nothing judged -------------------------------------------------------------------------------

def test_nothing_judged_is_an_error_never_no_anomalies(tmp_path):
    code, _, err = cli(tmp_path, response(steady(1, ["EC2"])))
    assert one_line_error(code, err) and "nothing judged: 1 complete day" in err and "need at least 8" in err
    code, _, err = cli(tmp_path, response(steady(2, ["EC2"])))
    assert one_line_error(code, err) and "2 complete day" in err
    code, _, err = cli(tmp_path, response(steady(30, ["EC2"])), "--today", "2024-01-01")
    assert code == 1 and "Traceback" not in err


# -- 4. pages ----------------------------------------------------------------------------------------

def test_a_page_with_a_next_token_is_incomplete_and_a_list_of_pages_is_joined(tmp_path):
    entries = steady(30, ["Amazon EC2"])
    entries[-1] = entry(29, [(["Amazon EC2"], 80.0)])
    code, _, err = cli(tmp_path, response(entries[:15], token="abc"))
    assert one_line_error(code, err) and "incomplete" in err and "save every page" in err
    whole = cli(tmp_path, response(entries))
    pages = cli(tmp_path, [response(entries[:15], token="abc"), response(entries[15:])])
    assert whole[0] == pages[0] == 2 and whole[1]["anomalies"] == pages[1]["anomalies"]


# -- 5. rises and drops ------------------------------------------------------------------------------

def series(values: list[float], service: str = "Amazon SageMaker") -> list[dict]:
    return [entry(i, [([service], v)]) for i, v in enumerate(values)]


def test_new_spend_from_zero_is_reported_from_its_first_day_and_its_end_is_not_a_rise(tmp_path):
    values = [0.0] * 20 + [1.29] * 9 + [0.0] * 8  # nine days of new spend, then nothing
    code, out, err = cli(tmp_path, response(series(values)), "--today", day(len(values)))
    assert code == 2, err
    new = [a for a in out["anomalies"] if a["kind"] == NEW_SPEND]
    assert sorted(a["date"] for a in new) == [day(i) for i in range(20, 29)]
    assert {a["since"] for a in new} == {day(20)}
    assert all(a["date"] < day(29) for a in out["anomalies"])  # the day it stopped is not reported


def test_a_level_shift_is_reported_from_the_day_it_began_while_it_lasts_and_its_percentage_agrees():
    from labkit.cost.responses import parse_results

    values = [10.0 + (i % 2) for i in range(20)] + [40.0] * 12 + [10.0] * 6
    costs = parse_results(series(values, "Amazon RDS"))
    found = detect(costs, CostRules())
    shifts = [a for a in found.anomalies if a.kind == LEVEL_SHIFT]
    assert shifts and {a.since.isoformat() for a in shifts} == {day(20)}
    assert all(day(20) <= a.date.isoformat() < day(32) for a in shifts)  # not after it ended
    for a in shifts:
        assert a.level is not None and abs(a.pct_above - (a.level - a.baseline_avg) / a.baseline_avg * 100) < 1e-6
        assert f"level ${a.level:.2f}/day" in a.describe()


# -- 6. the metric -----------------------------------------------------------------------------------

def test_the_metric_is_chosen_and_a_missing_one_is_named(tmp_path):
    entries = [entry(i, [(["EC2"], 10.0 + i % 2)], metric="BlendedCost") for i in range(30)]
    code, _, err = cli(tmp_path, response(entries))
    assert one_line_error(code, err) and "use --metric BlendedCost" in err
    code, out, err = cli(tmp_path, response(entries), "--metric", "BlendedCost")
    assert code == 0 and out["metric"] == "BlendedCost", err


# -- 7. drift: the older state form ------------------------------------------------------------------

def test_drift_names_the_attributes_flat_form(tmp_path):
    state = {"version": 4, "terraform_version": "0.11.14", "resources": [
        {"mode": "managed", "type": "aws_security_group", "name": "web", "provider": "provider.aws",
         "instances": [{"attributes_flat": {"id": "sg-1"}}]}]}
    path = tmp_path / "terraform.tfstate"
    path.write_text(json.dumps(state))
    proc = subprocess.run([*LABKIT, "drift", "check", str(path)], capture_output=True, text=True, timeout=60)
    assert one_line_error(proc.returncode, proc.stderr) and "attributes_flat" in proc.stderr
    assert "terraform state pull" in proc.stderr


# -- 8. any documented shape: judged, or refused with one line ---------------------------------------

GRANULARITY = st.sampled_from(["DAILY", "MONTHLY", "HOURLY"])
DEFINITIONS = st.sampled_from([None, [("DIMENSION", "SERVICE")], [("DIMENSION", "LINKED_ACCOUNT")],
                               [("TAG", "ProjectId"), ("DIMENSION", "SERVICE")], [("COST_CATEGORY", "Team")]])


def keys_for(definitions, k: int) -> list[str]:
    if not definitions:
        return [f"svc{k}"]
    return [f"{key}${k % 2 and 'v' or ''}" if kind in ("TAG", "COST_CATEGORY") else f"{key.lower()}{k}"
            for kind, key in definitions]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(granularity=GRANULARITY, definitions=DEFINITIONS, n_days=st.integers(0, 25), n_groups=st.integers(0, 3),
       amounts=st.lists(st.floats(0, 1000, allow_nan=False), min_size=1, max_size=8),
       pages=st.integers(1, 3), token_left=st.booleans(), metric=st.sampled_from(["UnblendedCost", "BlendedCost"]))
def test_any_documented_shape_is_judged_or_refused_with_one_error(tmp_path, granularity, definitions, n_days,
                                                                   n_groups, amounts, pages, token_left, metric):
    entries = []
    for i in range(n_days):
        if granularity == "DAILY":
            period = {"Start": day(i), "End": day(i + 1)}
        elif granularity == "MONTHLY":
            period = {"Start": f"2023-{i % 11 + 1:02d}-01", "End": f"2023-{i % 11 + 2:02d}-01"}
        else:
            period = {"Start": f"{day(0)}T{i % 24:02d}:00:00Z", "End": f"{day(0)}T{i % 24:02d}:59:59Z"}
        groups = [{"Keys": keys_for(definitions, k), "Metrics": {metric: {"Amount": f"{amounts[(i + k) % len(amounts)]:.4f}",
                                                                          "Unit": "USD"}}}
                  for k in range(n_groups)]
        entries.append({"TimePeriod": period, "Total": {}, "Groups": groups, "Estimated": False})
    chunk = max(1, -(-len(entries) // pages))
    parts = [entries[i:i + chunk] for i in range(0, len(entries), chunk)] or [[]]
    data = [response(part, definitions, token="t" if (i < len(parts) - 1 or token_left) else None)
            for i, part in enumerate(parts)]
    path = tmp_path / "shape.json"
    path.write_text(json.dumps(data if len(data) > 1 else data[0]))
    try:
        costs = load_input(path, metric)
    except InputError as err:
        assert "\n" not in str(err)  # refused: one line
        return
    assert not token_left and (n_days == 0 or granularity == "DAILY")  # only complete daily data gets here
    assert len(costs.days) == n_days
    found = detect(costs, CostRules(new_spend=True))
    for a in found.anomalies:
        assert a.actual >= 0 and a.impact >= 0
        if a.pct_above is not None:
            shown = a.level if a.kind == LEVEL_SHIFT else a.actual
            assert abs(a.pct_above - (shown - a.baseline_avg) / a.baseline_avg * 100) < 1e-6
