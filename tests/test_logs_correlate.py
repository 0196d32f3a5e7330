"""The trace correlation check over log directories built in the tests."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import subprocess

import pytest
from conftest import LABKIT

from labkit.errors import InputError
from labkit.logs import correlate

scan_module = importlib.import_module("labkit.logs.scan")  # the byte scanner's chunk sizes

T0 = dt.datetime(2026, 11, 27, 10, 0, 0, tzinfo=dt.UTC)
TRACE, W3C = "pay-0a1b2c3d", "4bf92f3577b34da6a3ce929d0e0e4736"
OTHER, OTHER_W3C = "pay-99999999", "00f067aa0ba902b700f067aa0ba902b7"


def ts(ms: float, offset: str = "Z") -> str:
    t = T0 + dt.timedelta(milliseconds=ms)
    if offset == "Z":
        return t.isoformat(timespec="microseconds").replace("+00:00", "Z")
    if offset == "naive":
        return t.replace(tzinfo=None).isoformat(timespec="microseconds")
    hours = int(offset)
    return t.astimezone(dt.timezone(dt.timedelta(hours=hours))).isoformat(timespec="microseconds")


def ev(ms, service, event, trace=TRACE, w3c=W3C, level="INFO", offset="Z", **fields) -> str:
    line = {"timestamp": ts(ms, offset), "service": service, "level": level, "event": event}
    if trace:
        line["trace_id"] = trace
    if w3c:
        line["w3c_trace_id"] = w3c
    return json.dumps(line | fields)


HEALTHY = {
    "auth": [ev(0, "auth", "payment_request_received"), ev(1, "auth", "user_authenticated"),
             ev(40, "auth", "payment_complete")],
    "ledger": [ev(5, "ledger", "transaction_recorded")],
    "notification": [ev(10, "notification", "email_send_attempt"), ev(30, "notification", "email_queued")],
    "email-provider": [ev(20, "email-provider", "email_accepted")],
}


def write_logs(tmp_path, files: dict[str, list[str | bytes]]):
    for name, lines in files.items():
        data = b"".join((ln if isinstance(ln, bytes) else ln.encode()) + b"\n" for ln in lines)
        (tmp_path / f"{name}.log").write_bytes(data)
    return tmp_path


def with_lines(**extra) -> dict[str, list]:
    files = {k: list(v) for k, v in HEALTHY.items()}
    for name, lines in extra.items():
        files.setdefault(name.replace("_", "-"), []).extend(lines)
    return files


def test_when_the_trace_is_healthy_then_it_is_complete_and_clean(tmp_path):
    result = correlate(TRACE, write_logs(tmp_path, HEALTHY))
    assert [e.event for e in result.events] == [
        "payment_request_received", "user_authenticated", "transaction_recorded", "email_send_attempt",
        "email_accepted", "email_queued", "payment_complete"]
    assert result.services_seen == ["auth", "email-provider", "ledger", "notification"]
    assert not result.has_findings and result.unparsed_lines == 0


def test_when_given_the_w3c_id_then_the_same_trace_is_found(tmp_path):
    write_logs(tmp_path, HEALTHY)
    by_w3c = correlate(W3C, tmp_path)
    assert [e.event for e in by_w3c.events] == [e.event for e in correlate(TRACE, tmp_path).events]
    assert by_w3c.ids == {TRACE, W3C} and not by_w3c.has_findings


def test_when_a_service_has_no_event_then_it_is_missing(tmp_path):
    files = with_lines()
    files["email-provider"] = [ev(20, "email-provider", "email_accepted", trace=OTHER, w3c=OTHER_W3C)]
    result = correlate(TRACE, write_logs(tmp_path, files))
    assert result.missing_services == ["email-provider"] and result.has_findings


def test_when_an_attempt_has_no_outcome_and_a_plain_line_explains_it_then_both_are_reported(tmp_path):
    files = with_lines()
    files["notification"] = [ev(10, "notification", "email_send_attempt"),
                             f"{ts(25)} ERROR Connection timeout to email provider"]
    result = correlate(TRACE, write_logs(tmp_path, files))
    assert [(u.service, u.attempt) for u in result.unpaired_attempts] == [("notification", "email_send_attempt")]
    (suspect,) = result.suspects
    assert (suspect.service, suspect.line, suspect.level) == ("notification", 2, "ERROR")
    assert suspect.file.endswith("notification.log") and suspect.timestamp == T0 + dt.timedelta(milliseconds=25)
    assert result.unparsed_lines == 1 and result.warnings[0].line == 2


def test_when_the_outcome_is_a_structured_timeout_then_the_attempt_is_paired_but_the_error_counts(tmp_path):
    files = with_lines()
    files["notification"] = [ev(10, "notification", "email_send_attempt"),
                             ev(25, "notification", "email_timeout", level="ERROR")]
    result = correlate(TRACE, write_logs(tmp_path, files))
    assert result.unpaired_attempts == [] and result.suspects == []
    assert [e.event for e in result.errors] == ["email_timeout"] and result.has_findings


@pytest.mark.parametrize("after_ms, grace_ms, suspect", [(500, 1000, True), (1500, 1000, False), (500, 0, False)])
def test_when_an_untraced_line_follows_the_trace_then_the_grace_window_decides(tmp_path, after_ms, grace_ms,
                                                                             suspect):
    files = with_lines(ledger=[f"{ts(40 + after_ms)} WARN db pool exhausted"])
    result = correlate(TRACE, write_logs(tmp_path, files), grace_ms=grace_ms)
    assert bool(result.suspects) is suspect


def test_when_untraced_lines_lie_before_the_trace_then_they_are_not_suspects(tmp_path):
    files = with_lines()
    files["auth"].insert(0, ev(-5000, "auth", "service_started", trace=None, w3c=None))
    files["auth"].insert(1, f"{ts(-4000)} INFO warming cache")
    result = correlate(TRACE, write_logs(tmp_path, files))
    assert result.suspects == [] and result.unparsed_lines in (0, 1)


def test_when_a_json_object_has_no_trace_id_inside_the_window_then_it_is_a_suspect(tmp_path):
    files = with_lines(ledger=[ev(15, "ledger", "retrying_insert", trace=None, w3c=None, level="WARN")])
    result = correlate(TRACE, write_logs(tmp_path, files))
    assert [s.level for s in result.suspects] == ["WARN"] and result.unparsed_lines == 0


def test_when_lines_are_not_json_objects_then_each_is_a_warning_with_file_and_line(tmp_path):
    files = with_lines()
    files["ledger"] = [ev(5, "ledger", "transaction_recorded"), "[1, 2, 3]", '"a string"',
                       '{"timestamp": "' + ts(8) + '", "service": "ledger", "trunc', ""]
    result = correlate(TRACE, write_logs(tmp_path, files))
    problems = {(w.line, w.problem.split(" (")[0]) for w in result.warnings}
    assert problems == {(2, "JSON that is not an object"), (3, "JSON that is not an object"),
                        (4, "truncated or malformed JSON"), (5, "empty line")}
    assert result.unparsed_lines == 4
    # the truncated line still has a readable timestamp inside the window: a suspect
    assert [s.line for s in result.suspects if s.timestamp] == [4]


def test_when_a_line_has_invalid_utf8_then_it_is_still_read(tmp_path):
    files = with_lines()
    files["ledger"] = [ev(5, "ledger", "transaction_recorded", note="caf\udce9").encode("utf-8", "surrogateescape")]
    files["ledger"][0] = files["ledger"][0].replace(b"\\udce9", b"\xe9")
    files["ledger"].append(f"{ts(12)} ERROR bad byte \xff here".encode("latin-1"))
    result = correlate(TRACE, write_logs(tmp_path, files))
    assert "transaction_recorded" in [e.event for e in result.events]
    assert [s.line for s in result.suspects] == [2] and "\ufffd" in result.suspects[0].text


def test_when_a_plain_line_has_no_timestamp_inside_the_window_then_it_is_a_suspect_by_position(tmp_path):
    files = with_lines()
    files["notification"] = [ev(10, "notification", "email_send_attempt"), "Traceback (most recent call last):",
                             ev(30, "notification", "email_queued")]
    result = correlate(TRACE, write_logs(tmp_path, files))
    assert [(s.line, s.timestamp) for s in result.suspects] == [(2, None)]


def test_when_timestamps_carry_offsets_or_none_then_they_are_ordered_in_utc(tmp_path):
    files = with_lines()
    files["ledger"] = [ev(5, "ledger", "transaction_recorded", offset="2")]
    files["email-provider"] = [ev(20, "email-provider", "email_accepted", offset="naive")]
    files["auth"][2] = ev(40, "auth", "payment_complete", offset="-5")
    result = correlate(TRACE, write_logs(tmp_path, files))
    assert [e.event for e in result.events][2] == "transaction_recorded"
    assert result.events[-1].event == "payment_complete" and not result.has_findings


def test_when_traces_interleave_then_only_the_asked_one_is_reported(tmp_path):
    files = {name: [] for name in HEALTHY}
    for name, lines in HEALTHY.items():
        for line in lines:
            files[name].append(line)
            files[name].append(line.replace(TRACE, OTHER).replace(W3C, OTHER_W3C))
    result = correlate(TRACE, write_logs(tmp_path, files))
    assert len(result.events) == 7 and not result.has_findings


def test_when_a_fourth_service_logs_then_it_is_discovered(tmp_path):
    files = with_lines(fraud=[ev(3, "fraud", "risk_scored", score=0.1)])
    result = correlate(TRACE, write_logs(tmp_path, files))
    assert "fraud" in result.services and "fraud" in result.services_seen
    del files["fraud"]
    write_logs(tmp_path, {"fraud": [ev(3, "fraud", "risk_scored", trace=OTHER, w3c=OTHER_W3C)]})
    assert correlate(TRACE, tmp_path).missing_services == ["fraud"]


def test_when_a_file_is_not_in_time_order_then_it_is_read_in_full_and_nothing_is_missed(tmp_path, monkeypatch):
    monkeypatch.setattr(scan_module, "CHUNK", 256)
    monkeypatch.setattr(scan_module, "SEEK_SLACK", 64)
    late = [f"{ts(-600_000 + i * 1000)} INFO filler {i}" for i in range(200)]
    files = with_lines()
    files["ledger"] = late[:100] + [f"{ts(15)} ERROR deadlock detected"] + [ev(5, "ledger", "transaction_recorded")] \
        + late[100:]  # the window's lines sit among much older ones
    result = correlate(TRACE, write_logs(tmp_path, files))
    assert result.full_scans == [str(tmp_path / "ledger.log")]
    assert [s.text.split(" ", 1)[1] for s in result.suspects] == ["ERROR deadlock detected"]


def test_when_files_span_many_chunks_then_the_seek_finds_the_window_and_line_numbers_are_right(tmp_path,
                                                                                            monkeypatch):
    monkeypatch.setattr(scan_module, "CHUNK", 512)
    monkeypatch.setattr(scan_module, "SEEK_SLACK", 128)
    before = [ev(-100_000 + i * 10, "ledger", "noise", trace=OTHER, w3c=OTHER_W3C) for i in range(2000)]
    after = [ev(10_000 + i * 10, "ledger", "noise", trace=OTHER, w3c=OTHER_W3C) for i in range(2000)]
    files = with_lines()
    files["ledger"] = before + [ev(5, "ledger", "transaction_recorded"), f"{ts(6)} ERROR constraint violated"] + after
    result = correlate(TRACE, write_logs(tmp_path, files))
    assert result.full_scans == []
    (event,) = [e for e in result.events if e.service == "ledger"]
    assert event.line == 2001
    assert [(s.line, s.service) for s in result.suspects] == [(2002, "ledger")]
    assert result.unparsed_lines == 1  # only the examined window, not the 4000 other lines


def test_when_the_directory_is_missing_or_empty_then_input_error(tmp_path):
    with pytest.raises(InputError, match="no such log directory"):
        correlate(TRACE, tmp_path / "nope")
    with pytest.raises(InputError, match="no \\*.log files"):
        correlate(TRACE, tmp_path)
    write_logs(tmp_path, HEALTHY)
    with pytest.raises(InputError, match="trace ID"):
        correlate("pay", tmp_path)


def run_cli(*args):
    return subprocess.run([*LABKIT, "logs", "correlate", *args], capture_output=True, text=True, timeout=60)


def test_cli_exit_codes_and_json(tmp_path):
    write_logs(tmp_path, HEALTHY)
    ok = run_cli(TRACE, "--log-dir", str(tmp_path), "--json")
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    for key in ("trace_id", "events", "services_seen", "missing_services", "unpaired_attempts", "suspects",
                "unparsed_lines"):
        assert key in out
    assert set(out["events"][0]) >= {"timestamp", "service", "level", "event", "fields"}
    files = with_lines()
    files["notification"] = [ev(10, "notification", "email_send_attempt"), f"{ts(25)} ERROR timeout"]
    write_logs(tmp_path, files)
    bad = run_cli(TRACE, "--log-dir", str(tmp_path), "--json")
    assert bad.returncode == 2
    out = json.loads(bad.stdout)
    assert out["unpaired_attempts"][0]["attempt"] == "email_send_attempt"
    assert set(out["suspects"][0]) >= {"service", "file", "line", "timestamp", "text"}
    missing = run_cli(TRACE, "--log-dir", str(tmp_path / "none"))
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_when_lines_are_longer_than_the_read_buffer_then_nothing_is_lost(tmp_path, monkeypatch):
    monkeypatch.setattr(scan_module, "CHUNK", 64)  # every line is longer than this
    files = with_lines()
    files["notification"] = [ev(10, "notification", "email_send_attempt", padding="x" * 500),
                             f"{ts(25)} ERROR " + "y" * 300]
    result = correlate(TRACE, write_logs(tmp_path, files))
    assert len(result.events) == 6 and [u.line for u in result.unpaired_attempts] == [1]
    assert [s.line for s in result.suspects] == [2]


def test_when_the_last_line_has_no_newline_then_it_is_read(tmp_path):
    write_logs(tmp_path, HEALTHY)
    path = tmp_path / "auth.log"
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    assert not correlate(TRACE, tmp_path).has_findings


def test_the_cli_takes_a_teams_own_attempt_outcome_vocabulary(tmp_path):
    """--pair replaces the lab's pairs: an order never shipped is reported, the lab's
    unanswered e-mail attempt is no longer an attempt."""
    files = with_lines()
    files["notification"] = [ev(10, "notification", "email_send_attempt")]
    files["orders"] = [ev(2, "orders", "order_placed"), ev(3, "orders", "order_placed", order="o-2"),
                       ev(8, "orders", "order_cancelled")]
    write_logs(tmp_path, files)
    lab = json.loads(run_cli(TRACE, "--log-dir", str(tmp_path), "--json").stdout)
    assert [u["attempt"] for u in lab["unpaired_attempts"]] == ["email_send_attempt"]
    own = run_cli(TRACE, "--log-dir", str(tmp_path), "--json", "--pair", "order_placed=order_shipped, order_cancelled",
                  "--pair", "payment_request_received=payment_complete")
    assert own.returncode == 2, own.stderr
    out = json.loads(own.stdout)
    assert [(u["service"], u["attempt"], u["expected"], u["line"]) for u in out["unpaired_attempts"]] == [
        ("orders", "order_placed", ["order_shipped", "order_cancelled"], 2)]  # the first was answered
    for bad in ("order_placed", "=order_shipped", "order_placed=", "order_placed= , "):
        done = run_cli(TRACE, "--log-dir", str(tmp_path), "--pair", bad)
        assert done.returncode == 1 and done.stderr.count("\n") == 1 and "--pair wants" in done.stderr, bad


@pytest.mark.parametrize("back_ms, full", [(900, False), (1500, True)])
def test_when_other_traces_lines_run_back_in_time_then_only_past_the_tolerance_is_the_file_read_in_full(
        tmp_path, monkeypatch, back_ms, full):
    # the window's other-trace lines are written the common way (timestamp first, UTC to the
    # microsecond) and placed in time without a parse: their order must still be checked
    monkeypatch.setattr(scan_module, "CHUNK", 512)
    monkeypatch.setattr(scan_module, "SEEK_SLACK", 128)
    noise = [ev(-50_000 + i * 100, "ledger", "noise", trace=OTHER, w3c=OTHER_W3C) for i in range(500)]
    files = with_lines()
    files["ledger"] = noise + [ev(5, "ledger", "transaction_recorded"),
                               ev(1000, "ledger", "noise", trace=OTHER, w3c=OTHER_W3C),
                               ev(1000 - back_ms, "ledger", "noise", trace=OTHER, w3c=OTHER_W3C),
                               f"{ts(1200)} ERROR constraint violated"]
    result = correlate(TRACE, write_logs(tmp_path, files))
    assert result.full_scans == ([str(tmp_path / "ledger.log")] if full else [])
    assert [s.text.split(" ", 1)[1] for s in result.suspects] == ["ERROR constraint violated"]
    assert [e.line for e in result.events if e.service == "ledger"] == [501]


PARALLEL = """
import json, sys
from labkit.logs import correlate
module = sys.modules["labkit.logs.correlate"]
module.PARALLEL_FROM = 0  # fork even for these small files
print(json.dumps([correlate(sys.argv[1], sys.argv[2], jobs=j).to_dict() for j in (1, 2, 3)]))
"""


def test_when_files_are_read_by_several_processes_then_the_result_is_the_same_as_by_one(tmp_path):
    files = with_lines(notification=[f"{ts(35)} ERROR Connection timeout to email provider", b"\xff\xfe {"],
                       fraud=[ev(3, "fraud", "risk_scored", trace=OTHER, w3c=OTHER_W3C)])
    write_logs(tmp_path, files)
    done = subprocess.run([LABKIT[0], "-c", PARALLEL, TRACE, str(tmp_path)], capture_output=True, text=True,
                          timeout=60)
    one, two, three = json.loads(done.stdout)
    assert one == two == three
    assert one["suspects"] and one["warnings"] and one["missing_services"] == ["fraud"]
