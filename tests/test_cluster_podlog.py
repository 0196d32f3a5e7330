"""The pod log reader on files it is given: lines with their times, read once each, tail-free."""

from __future__ import annotations

from labkit.cluster import podlog
from labkit.processes import STAMP_WIDTH


def write(path, lines_and_stamps):
    with path.open("ab") as out, path.with_suffix(".ts").open("ab") as ts:
        for stamp, line in lines_and_stamps:
            ts.write(f"{stamp}\n".encode())
            out.write(line)


def stamp(second: int) -> str:
    return f"2026-11-27T08:00:{second:02d}.000000000Z"


def test_the_reader_returns_each_complete_line_once_with_its_time(tmp_path):
    out = tmp_path / "c.out"
    write(out, [(stamp(1), b"one\n"), (stamp(2), b"two\n")])
    reader = podlog.Reader(out)
    assert reader.read() == [(stamp(1), b"one\n"), (stamp(2), b"two\n")]
    assert reader.read() == []
    with out.open("ab") as f:
        f.write(b"thr")  # half a line: not yet
    assert reader.read() == []
    write(out, [(stamp(3), b"ee\n")])
    assert reader.read() == [(stamp(3), b"three\n")]
    assert len(stamp(3)) + 1 == STAMP_WIDTH


def test_final_read_returns_an_unterminated_last_line_and_missing_times_are_now(tmp_path):
    out = tmp_path / "c.out"
    out.write_bytes(b"no stamps here\nlast")
    entries = podlog.Reader(out).read(final=True)
    assert [line for _, line in entries] == [b"no stamps here\n", b"last"]
    assert all(len(t) + 1 == STAMP_WIDTH and t.endswith("Z") for t, _ in entries)


def test_since_and_render():
    assert podlog.since({}) is None
    assert podlog.since({"sinceTime": "2026-11-27T08:00:02Z"}) == stamp(2)
    assert stamp(1) < podlog.since({"sinceTime": "2026-11-27T08:00:02Z"}) <= stamp(2)
    entries = [(stamp(1), b"a\n"), (stamp(2), b"b\n")]
    assert podlog.render(entries, False) == b"a\nb\n"
    assert podlog.render(entries, True) == f"{stamp(1)} a\n{stamp(2)} b\n".encode()
    try:
        podlog.since({"sinceTime": "yesterday"})
    except ValueError as err:
        assert "sinceTime" in str(err)
    else:
        raise AssertionError("a bad sinceTime must be refused")
