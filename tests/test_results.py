"""Recording results into an executed notebook and reading them back."""

from __future__ import annotations

import json
import subprocess

import nbformat
import pytest
from conftest import LABKIT

from labkit.errors import InputError
from labkit.results import MIME, read_results, record, recorded


def notebook_with_outputs(path, payloads):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("record(...)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={MIME: p, "text/plain": "x"}) for p in payloads]
    cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text="exercise_passed = True\n"))
    nb.cells = [cell]
    nbformat.write(nb, path)


def test_when_values_are_recorded_then_they_read_back_last_one_winning(tmp_path):
    path = tmp_path / "nb.ipynb"
    notebook_with_outputs(path, [{"name": "a", "value": 1}, {"name": "b", "value": [1, 2]},
                                 {"name": "a", "value": 3}])
    assert read_results(path) == {"a": 3, "b": [1, 2]}


def test_when_text_merely_looks_like_a_result_then_it_is_not_one(tmp_path):
    path = tmp_path / "nb.ipynb"
    notebook_with_outputs(path, [])
    assert read_results(path) == {}


def test_when_numpy_and_dates_are_recorded_then_they_become_json():
    import datetime as dt

    import numpy as np

    for name, value in (("n", np.float64(1.5)), ("flag", np.bool_(True)), ("day", dt.date(2026, 1, 2)),
                        ("nan", float("nan"))):
        assert record(name, value) is None  # nothing to echo as Out[n]
    assert recorded()["n"] == 1.5 and recorded()["flag"] is True
    assert recorded()["day"] == "2026-01-02" and recorded()["nan"] is None


def test_a_recorded_line_is_aligned_and_cut_to_fit():
    from labkit.results import recorded_line

    assert recorded_line("ok", True) == "recorded  ok" + " " * 29 + "true"
    long = recorded_line("ports", list(range(100)))
    assert len(long) == 100 and long.endswith("...")


def test_when_a_value_is_not_serialisable_then_input_error():
    with pytest.raises(InputError, match="not JSON"):
        record("obj", object())


def test_when_the_notebook_is_missing_or_broken_then_input_error(tmp_path):
    with pytest.raises(InputError, match="no such notebook"):
        read_results(tmp_path / "none.ipynb")
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    with pytest.raises(InputError):
        read_results(bad)


def test_cli_results_json(tmp_path):
    path = tmp_path / "nb.ipynb"
    notebook_with_outputs(path, [{"name": "exercise_passed", "value": True}])
    proc = subprocess.run([*LABKIT, "results", str(path), "--json"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and json.loads(proc.stdout) == {"exercise_passed": True}
    proc = subprocess.run([*LABKIT, "results", str(tmp_path / "x.ipynb")], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
