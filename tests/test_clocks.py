"""Teaching clocks and CI clocks: which one a process runs on, and bad values."""

from __future__ import annotations

import subprocess

import pytest
from conftest import LABKIT

from labkit.clocks import ci_clocks, clocks, use
from labkit.errors import InputError


@pytest.mark.parametrize("value, want", [("", "teaching"), ("teaching", "teaching"), ("ci", "ci")])
def test_the_environment_names_the_clocks(monkeypatch, value, want):
    monkeypatch.setenv("LABKIT_CLOCKS", value)
    assert clocks() == want and ci_clocks() is (want == "ci")


def test_a_learner_without_the_variable_gets_the_teaching_clocks(monkeypatch):
    monkeypatch.delenv("LABKIT_CLOCKS", raising=False)
    assert clocks() == "teaching"


def test_an_unknown_value_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("LABKIT_CLOCKS", "fast")
    with pytest.raises(InputError, match="LABKIT_CLOCKS must be teaching or ci, not 'fast'"):
        clocks()


def test_labkit_run_refuses_unknown_clocks_in_one_line():
    done = subprocess.run([*LABKIT, "run", "5", "--clocks", "fast"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "invalid choice: 'fast'" in done.stderr and "Traceback" not in done.stderr


def test_use_sets_the_clocks_kernels_inherit_and_run_notebooks_refuses_unknown_ones(monkeypatch):
    from labkit.runner import run_notebooks

    monkeypatch.setenv("LABKIT_CLOCKS", "teaching")
    with pytest.raises(InputError, match="clocks must be teaching or ci, not 'fast'"):
        use("fast")
    with pytest.raises(InputError, match="clocks must be teaching or ci, not 'fast'"):
        run_notebooks(["5"], clocks="fast")  # before any notebook starts
    assert clocks() == "teaching"  # nothing changed by a refused value
    use("ci")
    assert clocks() == "ci"
