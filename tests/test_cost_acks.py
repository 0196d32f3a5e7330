"""Acknowledged cost levels: set a known step aside, never a further rise; bad entries are one-line errors."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest
from conftest import LABKIT

from labkit.cost import CostRules, check
from labkit.cost.acks import acknowledge, read_acks
from labkit.cost.sample import COMPUTE, DATABASE, sample_costs, with_spike, with_step
from labkit.errors import InputError

TODAY = dt.date(2026, 3, 15)
STEP = with_step(with_spike(sample_costs(TODAY, 30), COMPUTE, 18.5), DATABASE, extra=2.0, days=9)


def ack(**fields):
    return {"group": DATABASE, "level": 3.0, "reason": "CHG-1: upgrade", "expires": "2026-03-29", **fields}


def test_when_a_level_is_acknowledged_then_its_findings_are_set_aside_and_a_further_rise_is_not():
    acks = read_acks([ack()], TODAY)
    kept, aside = acknowledge(check(STEP, CostRules(), TODAY).anomalies, acks, TODAY)
    assert {a.service for a in kept} == {COMPUTE} and aside and all(a.service == DATABASE for a, _ in aside)
    rise = with_step(STEP, DATABASE, extra=3.0, days=2)
    kept, _ = acknowledge(check(rise, CostRules(), TODAY).anomalies, acks, TODAY)
    assert any(a.service == DATABASE and a.actual > 5 for a in kept)


def test_when_an_acknowledgement_has_expired_then_it_sets_nothing_aside():
    acks = read_acks([ack(expires="2026-03-14")])
    kept, aside = acknowledge(check(STEP, CostRules(), TODAY).anomalies, acks, TODAY)
    assert aside == [] and any(a.service == DATABASE for a in kept)


@pytest.mark.parametrize("fields, message", [
    ({"reason": " "}, "reason is required"), ({"level": 0}, "positive number"), ({"level": True}, "positive"),
    ({"group": ""}, "group is required"), ({"expires": "soon"}, "YYYY-MM-DD"),
    ({"expires": "2026-06-01"}, "more than 31 days"), ({"tolerance": 2}, "between 0 and 1"),
])
def test_when_an_acknowledgement_is_bad_then_input_error_names_it(fields, message):
    with pytest.raises(InputError, match=message):
        read_acks([ack(), ack(**fields)], TODAY)
    with pytest.raises(InputError, match="must be a list"):
        read_acks({"group": DATABASE})


def test_the_cli_sets_acknowledged_findings_aside_and_rejects_a_bad_file_in_one_line(tmp_path):
    path = tmp_path / "acks.json"
    path.write_text(json.dumps([ack(group=COMPUTE, level=20.0, expires="2026-11-30")]))
    base = [*LABKIT, "cost", "check", "--sample", "--today", "2026-11-27"]
    plain = subprocess.run(base, capture_output=True, text=True, timeout=120)
    assert plain.returncode == 2 and "spike" in plain.stdout
    acked = subprocess.run([*base, "--ack", str(path)], capture_output=True, text=True, timeout=120)
    assert acked.returncode == 0, acked.stdout + acked.stderr
    assert "no anomalies" in acked.stdout and "acknowledged until 2026-11-30 (CHG-1: upgrade)" in acked.stdout
    path.write_text(json.dumps([ack(reason="")]))
    bad = subprocess.run([*base, "--ack", str(path)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "reason is required" in bad.stderr and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
