"""Bad input to `labkit cost check --input`: one clear line, exit 1, no traceback."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest
from conftest import LABKIT

from labkit.cost import load_input
from labkit.errors import InputError


def entry(amount="1.0", keys=("svc",), start="2026-03-01"):
    try:
        end = (dt.date.fromisoformat(start) + dt.timedelta(days=1)).isoformat()
    except ValueError:
        end = "2026-03-02"
    return {"TimePeriod": {"Start": start, "End": end},
            "Groups": [{"Keys": list(keys), "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}}]}


CASES = {
    "malformed_json": ('{"ResultsByTime": [', "not valid JSON"),
    "empty_file": ("", "empty"),
    "missing_results_key": (json.dumps({"Results": []}), "ResultsByTime"),
    "missing_start": (json.dumps([{"Groups": []}]), "TimePeriod.Start"),
    "missing_amount": (json.dumps([{"TimePeriod": {"Start": "2026-03-01", "End": "2026-03-02"},
                                    "Groups": [{"Keys": ["svc"], "Metrics": {}}]}]), "Amount"),
    "missing_keys": (json.dumps([entry(keys=())]), "Keys"),
    "non_numeric": (json.dumps([entry(amount="twelve")]), "not a number"),
    "negative": (json.dumps([entry(amount="-3.5")]), "negative"),
    "not_finite": (json.dumps([entry(amount="NaN")]), "finite"),
    "bad_date": (json.dumps([entry(start="yesterday")]), "YYYY-MM-DD"),
    "not_a_list": (json.dumps({"ResultsByTime": {"a": 1}}), "list"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_when_input_is_bad_then_a_typed_error_names_the_problem(tmp_path, name):
    text, expected = CASES[name]
    path = tmp_path / f"{name}.json"
    path.write_text(text)
    with pytest.raises(InputError, match=expected):
        load_input(path)


@pytest.mark.parametrize("name", ["malformed_json", "empty_file", "negative", "non_numeric", "missing_amount"])
def test_when_input_is_bad_then_the_cli_exits_1_with_one_line(tmp_path, name):
    path = tmp_path / "bad.json"
    path.write_text(CASES[name][0])
    proc = subprocess.run([*LABKIT, "cost", "check", "--input", str(path)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert str(path) in proc.stderr


def test_when_the_file_is_missing_then_exit_1(tmp_path):
    proc = subprocess.run([*LABKIT, "cost", "check", "--input", str(tmp_path / "nope.json")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "no such file" in proc.stderr


def test_when_an_option_is_wrong_then_exit_1_not_2():
    proc = subprocess.run([*LABKIT, "cost", "check", "--days", "many"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1


def test_when_today_is_malformed_then_exit_1():
    proc = subprocess.run([*LABKIT, "cost", "check", "--sample", "--today", "27/11/2026"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "YYYY-MM-DD" in proc.stderr


def test_when_a_saved_response_is_healthy_then_exit_0(tmp_path):
    days = [entry(amount=str(1.0 + 0.1 * (i % 2)), start=f"2026-03-{i + 1:02d}") for i in range(12)]
    path = tmp_path / "ok.json"
    path.write_text(json.dumps({"ResultsByTime": days}))
    proc = subprocess.run([*LABKIT, "cost", "check", "--input", str(path), "--today", "2026-03-20", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["anomalies"] == []


def test_when_a_list_of_entries_has_a_spike_then_exit_2(tmp_path):
    days = [entry(amount=str(1.0 + 0.1 * (i % 2)), start=f"2026-03-{i + 1:02d}") for i in range(11)]
    days.append(entry(amount="9.0", start="2026-03-12"))
    path = tmp_path / "spike.json"
    path.write_text(json.dumps(days))
    proc = subprocess.run([*LABKIT, "cost", "check", "--input", str(path), "--today", "2026-03-20", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert [a["date"] for a in json.loads(proc.stdout)["anomalies"]] == ["2026-03-12"]
