"""CLI start-up: `labkit --help` and a lab's `--help`, against `python -c "import boto3"` and
`python -c pass` measured in the same run (best of 5; wall time and peak RSS from wait4)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

LABKIT = str(Path(sys.executable).parent / "labkit")
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    'python -c "import boto3"': [sys.executable, "-c", "import boto3"],
    "labkit --help": [LABKIT, "--help"],
    "labkit cost check --help": [LABKIT, "cost", "check", "--help"],
    "labkit logs correlate --help": [LABKIT, "logs", "correlate", "--help"],
}


def measure(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one run, output discarded."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, _status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def main() -> None:
    best = {name: min(measure(argv) for _ in range(5)) for name, argv in COMMANDS.items()}
    base = best['python -c "import boto3"'][0]
    print(f"{'command':<32} {'wall s':>7} {'peak RSS MB':>12} {'vs import boto3':>16}")
    for name, (wall, rss) in best.items():
        print(f"{name:<32} {wall:7.3f} {rss:12.1f} {wall / base:15.2f}x")
    met = all(wall <= 3 * base and rss < 40 for name, (wall, rss) in best.items() if name.startswith("labkit"))
    print(f"goal: labkit --help within 3x of import boto3 and under 40 MB: {'met' if met else 'not met'}")


if __name__ == "__main__":
    main()
