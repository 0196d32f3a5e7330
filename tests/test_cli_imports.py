"""The CLI starts at once: each subcommand imports only what it needs, after its arguments are parsed.
(The time is measured in bench/, never asserted; this guards the import boundary.)"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "matplotlib", "kubernetes", "boto3", "botocore", "numpy", "psycopg", "nbformat", "papermill",
         "labkit.runtime")  # the runtime (processes, runs) only for commands that start something
PROBE = """
import contextlib, io, json, runpy, sys
sys.argv = ["labkit", *json.loads(sys.argv[1])]
code = 0
try:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        runpy.run_module("labkit.cli", run_name="__main__")
except SystemExit as done:
    code = done.code
print(json.dumps({"code": code, "heavy": sorted(m for m in HEAVY if m in sys.modules),
                  "lab_clis": sorted(m for m in sys.modules if m.startswith("labkit.") and m.endswith(".cli")
                                     and m != "labkit.cli")}))
""".replace("HEAVY", repr(HEAVY))


def imported(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True, timeout=60)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [["--help"], ["cost", "check", "--help"], ["logs", "correlate", "--help"],
                                  ["drift", "check", "--help"], ["secrets", "verify", "--help"],
                                  ["canary", "watch", "--help"], ["cluster", "serve", "--help"],
                                  ["results", "--help"], ["run", "--help"], ["doctor", "--help"]])
def test_help_imports_none_of_the_heavy_libraries(args):
    result = imported(*args)
    assert (result["code"], result["heavy"]) == (0, [])


def test_a_labs_command_imports_no_other_labs_command_module_and_help_lists_them_all():
    assert imported("logs", "correlate", "--help")["lab_clis"] == ["labkit.logs.cli"]
    assert imported("backup", "verify", "--help")["lab_clis"] == ["labkit.backup.cli"]
    assert len(imported("--help")["lab_clis"]) == 7
    done = subprocess.run([sys.executable, "-m", "labkit.cli", "--help"], capture_output=True, text=True, timeout=60)
    for command in ("cost", "logs", "drift", "cluster", "secrets", "canary", "backup", "run", "doctor"):
        assert command in done.stdout


def test_logs_correlate_runs_without_pandas_matplotlib_or_the_cloud_clients(tmp_path):
    (tmp_path / "auth.log").write_text(json.dumps({"timestamp": "2026-03-01T10:00:00Z", "service": "auth",
                                                   "event": "payment_complete", "trace_id": "pay-0000abcd"}) + "\n")
    result = imported("logs", "correlate", "pay-0000abcd", "--log-dir", str(tmp_path))
    assert result["code"] == 0
    assert not {"pandas", "matplotlib", "kubernetes", "boto3", "botocore"} & set(result["heavy"])
