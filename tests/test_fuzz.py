"""Bad input, fuzzed: what users and servers feed the parsers - every answer is a result or one
clear error, never a crash. (Fixed example budgets, so CI time stays bounded.)"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.errors import InputError
from labkit.logs import correlate
from labkit.prometheus import PromError, answer_result, first_value

FIXTURE_OK = [HealthCheck.function_scoped_fixture]
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=10)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                          max_size=3), max_leaves=10)


@settings(max_examples=200, deadline=None)
@given(body=JSON | st.fixed_dictionaries({"status": st.just("success"), "data": JSON})
       | st.fixed_dictionaries({"status": st.just("success"), "data": st.fixed_dictionaries(
           {"result": st.lists(st.fixed_dictionaries({"value": JSON}) | JSON, max_size=2)})}))
def test_fuzz_a_prometheus_answer_of_any_shape_gives_a_value_none_or_prom_error(body):
    try:
        value = first_value(answer_result(body))
    except PromError as err:
        assert str(err) and "\n" not in str(err)
        return
    assert value is None or isinstance(value, float)


def test_prometheus_values_keep_nan_and_inf_and_an_empty_vector_is_none():
    def answer(*values):
        return {"status": "success", "data": {"resultType": "vector",
                                              "result": [{"metric": {}, "value": [1.0, v]} for v in values]}}
    assert math.isnan(first_value(answer_result(answer("NaN"))))
    assert first_value(answer_result(answer("+Inf"))) == math.inf
    assert first_value(answer_result(answer())) is None
    with pytest.raises(PromError, match="failed: bad_data"):
        answer_result({"status": "error", "error": "bad_data"})


LINE = st.one_of(
    st.binary(max_size=80),  # anything, including invalid UTF-8 and NULs
    st.text(max_size=80).map(str.encode),
    st.builds(lambda obj: json.dumps(obj).encode(), JSON),
    st.builds(lambda ts, rest: json.dumps({"timestamp": ts, "trace_id": "pay-0000abcd", **rest}).encode(),
              st.text(max_size=30) | st.just("2026-03-01T10:00:00.000000Z"), st.dictionaries(st.text(max_size=6),
                                                                                           SCALARS, max_size=3)),
    st.just(b"x" * 70000),  # a huge line
    st.just(json.dumps({"timestamp": "2026-03-01T10:00:00Z", "trace_id": "pay-0000abcd"}).encode()[:-7]),  # cut
)


@settings(max_examples=120, deadline=None, suppress_health_check=FIXTURE_OK)
@given(files=st.dictionaries(st.sampled_from(["auth", "ledger", "notification"]), st.lists(LINE, max_size=8),
                             min_size=1, max_size=3),
       trace=st.sampled_from(["pay-0000abcd", "0af7651916cd43dd8448eb211c80319c", "pay-", "  ", "pay-0000abcd\n"]),
       grace=st.integers(-5, 10000))
def test_fuzz_log_files_of_any_bytes_give_a_correlation_or_one_input_error(tmp_path_factory, files, trace, grace):
    log_dir = tmp_path_factory.mktemp("logs")
    for name, lines in files.items():
        (log_dir / f"{name}.log").write_bytes(b"\n".join(lines) + b"\n")
    try:
        result = correlate(trace, log_dir, grace)
    except InputError as err:
        assert str(err) and "\n" not in str(err)
        return
    json.dumps(result.to_dict())  # the --json answer can always be written


ENTRY = st.fixed_dictionaries({}, optional={k: JSON | st.just(v) for k, v in {
    "group": "aws_security_group.web", "direction": "ingress", "protocol": "tcp", "from_port": 22, "to_port": 22,
    "source": "0.0.0.0/0", "reason": "INC-1", "expires": "2026-12-01"}.items()})


@settings(max_examples=200, deadline=None, suppress_health_check=FIXTURE_OK)
@given(entries=st.lists(ENTRY, max_size=3) | JSON)
def test_fuzz_an_allowlist_of_any_shape_gives_accepted_rules_or_one_input_error(tmp_path_factory, entries):
    from labkit.drift.fetch import load_allowlist

    path = tmp_path_factory.mktemp("allow") / "accepted.json"
    path.write_text(json.dumps(entries))
    try:
        accepted = load_allowlist(path)
    except InputError as err:
        assert str(err) and "\n" not in str(err)
        return
    assert all(a.reason and a.expires for a in accepted)


@settings(max_examples=200, deadline=None)
@given(entries=st.lists(st.fixed_dictionaries({}, optional={
    "group": JSON | st.just("Amazon Relational Database Service"), "level": JSON | st.just(3.0),
    "reason": JSON | st.just("CHG-1"), "expires": JSON | st.just("2026-03-20"), "tolerance": JSON}), max_size=3) | JSON)
def test_fuzz_cost_acknowledgements_of_any_shape_give_acks_or_one_input_error(entries):
    import datetime as dt

    from labkit.cost.acks import read_acks

    try:
        acks = read_acks(entries, dt.date(2026, 3, 15))
    except InputError as err:
        assert str(err) and "\n" not in str(err)
        return
    assert all(a.level > 0 and a.reason for a in acks)
