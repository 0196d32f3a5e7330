"""Wall time of each notebook and of the whole workbook run headless (what `make run` does),
and Lab 05's break-to-rollback time; prints a table. The baseline is the sum of the
notebooks' own times against the 90 s aim for the whole workbook."""

from __future__ import annotations

import argparse
import tempfile
import time

from labkit.results import read_results
from labkit.runner import run_notebooks

AIM_S = 90.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labs", nargs="*", help="lab numbers (default: all)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as build:
        start = time.monotonic()
        outcomes = run_notebooks(args.labs, build=build)
        total = time.monotonic() - start
        print(f"{'notebook':<40} {'wall s':>8}  status")
        for o in outcomes:
            print(f"{o.notebook:<40} {o.seconds:8.1f}  {'ok' if o.ok else 'FAILED: ' + o.error}")
        print(f"{'whole workbook (incl. HTML export)':<40} {total:8.1f}  aim {AIM_S:.0f} s: "
              f"{'met' if total <= AIM_S else 'not met'} ({total / AIM_S:.2f}x the aim)")
        lab05 = next((o for o in outcomes if o.notebook.startswith("05_")), None)
        if lab05 and lab05.ok:
            r = read_results(lab05.output)
            print(f"Lab 05 break-to-rollback (new canary Ready -> rollout undo): {r['seconds_break_to_rollback']} s "
                  "(aim 10 s)")


if __name__ == "__main__":
    main()
