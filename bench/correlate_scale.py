"""Scale of the Lab 02 check: correlate one trace in 100 MB and 1 GB of logs.

Measures, each in its own process (the median wall time of --runs, peak RSS from wait4):
- `labkit logs correlate TRACE --log-dir D`, the command a user runs, at both sizes,
- labkit's correlate called in-process (a second row: what the command adds is start-up),
- `grep -F TRACE *.log` at both sizes (the floor: it only finds lines),
- the naive baseline at 100 MB only (read every line, parse all into a list, filter).
The target trace sits in the middle of the logs, broken as in the lab (an attempt
without outcome and an untraced plain-text line). Prints times, RSS and ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVICES = ("auth", "ledger", "notification", "email-provider")
TARGET = "pay-5eedc0de"
TARGET_W3C = "5eedc0de" * 4
LINE_EVENTS = {"auth": ["payment_request_received", "user_authenticated", "payment_complete"],
               "ledger": ["transaction_recorded"], "notification": ["email_send_attempt", "email_queued"],
               "email-provider": ["email_accepted"]}


def generate(directory: Path, total_bytes: int, seed: int = 1) -> None:
    """Write the four logs on one clock: JSON lines in time order, some untraced noise,
    the target trace (broken as in the lab) in the middle of every file."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    files = {s: open(directory / f"{s}.log", "w") for s in SERVICES}
    t = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    written, i, placed = 0, 0, False
    try:
        while written < total_bytes:
            t += dt.timedelta(microseconds=rng.randint(50, 400))
            stamp = t.isoformat(timespec="microseconds").replace("+00:00", "Z")
            if not placed and written >= total_bytes // 2:
                placed = True
                for service in SERVICES:
                    for event in LINE_EVENTS[service]:
                        if service == "notification" and event == "email_queued":
                            line = f"{stamp} ERROR Connection timeout to email provider after 300.0 ms\n"
                        else:
                            line = json.dumps({"timestamp": stamp, "service": service, "level": "INFO",
                                               "event": event, "trace_id": TARGET, "w3c_trace_id": TARGET_W3C,
                                               "user_id": "u-42", "amount": 42.0}) + "\n"
                        files[service].write(line)
                        written += len(line)
                continue
            i += 1
            service = SERVICES[i % len(SERVICES)]
            if i % 20000 == 0:
                line = f"{stamp} WARN connection pool at 80% ({i})\n"
            else:
                line = json.dumps({"timestamp": stamp, "service": service, "level": "INFO",
                                   "event": rng.choice(LINE_EVENTS[service]),
                                   "trace_id": f"pay-{rng.getrandbits(32):08x}",
                                   "w3c_trace_id": f"{rng.getrandbits(128):032x}", "user_id": f"u-{i % 977}",
                                   "amount": round(rng.uniform(1, 500), 2), "currency": "EUR",
                                   "duration_ms": round(rng.uniform(1, 80), 1)}) + "\n"
            files[service].write(line)
            written += len(line)
    finally:
        for fh in files.values():
            fh.close()


def measure(argv: list[str], runs: int = 1) -> tuple[float, float, str]:
    """Wall seconds (the median of `runs`), peak RSS in MB (the largest) and stdout of one command.

    Output goes to a file, not a pipe: a parent that grew while reading a pipe would
    hand its own high-water mark to the next child's ru_maxrss.
    """
    walls, peak, text = [], 0.0, ""
    for _ in range(runs):
        with tempfile.TemporaryFile() as out:
            start = time.perf_counter()
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL)
            _pid, _status, usage = os.wait4(proc.pid, 0)
            walls.append(time.perf_counter() - start)
            peak = max(peak, usage.ru_maxrss / 1024)
            out.seek(0)
            text = out.read().decode(errors="replace")
    return statistics.median(walls), peak, text


LABKIT = ("import sys, time; from labkit.logs import correlate; t = time.perf_counter(); "
          "r = correlate(sys.argv[1], sys.argv[2]); t = time.perf_counter() - t; "
          "print(len(r.events), len(r.suspects), [u.attempt for u in r.unpaired_attempts], r.full_scans, "
          "f'(in-process {t:.2f} s)')")
NAIVE = """
import json, sys
from pathlib import Path
lines = []
for path in sorted(Path(sys.argv[2]).glob("*.log")):
    for raw in open(path, encoding="utf-8", errors="replace"):
        try:
            lines.append(json.loads(raw))
        except ValueError:
            lines.append({"text": raw})
print(len([x for x in lines if x.get("trace_id") == sys.argv[1]]))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=os.environ.get("LABKIT_BENCH_DIR", "/tmp/labkit-bench-logs"))
    parser.add_argument("--sizes-mb", default="100,1000")
    parser.add_argument("--runs", type=int, default=5, help="runs of each command; the median is reported")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes_mb.split(",")]
    rows = []
    for mb in sizes:
        d = Path(args.dir) / f"{mb}mb"
        if not (d / "auth.log").exists():
            t = time.perf_counter()
            generate(d, mb * 1_000_000)
            print(f"generated {mb} MB in {d} ({time.perf_counter() - t:.0f} s)", file=sys.stderr)
        files = sorted(str(p) for p in d.glob("*.log"))
        subprocess.run(["cat", *files], stdout=subprocess.DEVNULL, check=True)  # warm the page cache
        grep = measure(["grep", "-F", TARGET, *files], args.runs)
        cli = measure([str(Path(sys.executable).parent / "labkit"), "logs", "correlate", TARGET, "--log-dir", str(d)],
                      args.runs)
        lk = measure([sys.executable, "-c", LABKIT, TARGET, str(d)], args.runs)
        rows.append((mb, "grep -F (floor)", *grep[:2], grep[2].count("\n")))
        rows.append((mb, "labkit logs correlate", *cli[:2], cli[2].strip().splitlines()[-1] if cli[2].strip() else ""))
        rows.append((mb, "correlate(), 1 process", *lk[:2], lk[2].strip()))
        if mb == min(sizes):
            naive = measure([sys.executable, "-c", NAIVE, TARGET, str(d)])
            rows.append((mb, "naive parse-all", *naive[:2], naive[2].strip()))
    print(f"{'size':>7}  {'tool':<22} {'wall s':>8} {'peak RSS MB':>12}  output")
    for mb, tool, wall, rss, out in rows:
        print(f"{mb:>5}MB  {tool:<22} {wall:8.2f} {rss:12.1f}  {out}")
    by = {(mb, tool): (wall, rss) for mb, tool, wall, rss, _ in rows}
    for mb in sizes:
        floor = by[(mb, "grep -F (floor)")][0]
        ratio = by[(mb, "labkit logs correlate")][0] / floor
        goal = 3.0 if mb < 1000 else 2.0  # the goals: 3x at 100 MB, 2x at 1 GB
        print(f"ratio labkit logs correlate / grep -F at {mb} MB: {ratio:.2f}x "
              f"(correlate() in one process: {by[(mb, 'correlate(), 1 process')][0] / floor:.2f}x) - goal {goal:g}x: "
              f"{'met' if ratio <= goal else 'not met'}")
    small, big = min(sizes), max(sizes)
    if (small, "naive parse-all") in by:
        print(f"ratio naive / labkit logs correlate at {small} MB: "
              f"{by[(small, 'naive parse-all')][0] / by[(small, 'labkit logs correlate')][0]:.1f}x")
    if small != big:
        growth = by[(big, "labkit logs correlate")][1] / by[(small, "labkit logs correlate")][1] - 1
        peak = max(by[(small, "labkit logs correlate")][1], by[(big, "labkit logs correlate")][1])
        print(f"labkit logs correlate peak RSS {small} MB -> {big} MB: {growth * 100:+.1f} %, at most {peak:.0f} MB "
              f"(goal: flat, under 60 MB): {'met' if peak < 60 and growth < 0.1 else 'not met'}")


if __name__ == "__main__":
    main()
