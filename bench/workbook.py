"""Wall time of each notebook and of the whole workbook run headless (what `make run` does:
every notebook at once), and Lab 05's break-to-rollback time; prints a table. The baseline,
in the same run, is the sum of the notebooks' own times - what one after another would take -
and the aims are 60 s for the whole workbook and 25 s for Lab 05."""

from __future__ import annotations

import argparse
import tempfile
import time

from labkit.results import read_results
from labkit.runner import run_notebooks

AIM_S = 60.0
LAB05_AIM_S = 25.0


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
        one_by_one = sum(o.seconds for o in outcomes)
        print(f"{'whole workbook (incl. HTML export)':<40} {total:8.1f}  aim {AIM_S:.0f} s: "
              f"{'met' if total <= AIM_S else 'not met'} ({total / AIM_S:.2f}x the aim; "
              f"{total / one_by_one:.2f}x the notebooks' times one after another, {one_by_one:.0f} s)")
        lab05 = next((o for o in outcomes if o.notebook.startswith("05_")), None)
        if lab05:
            print(f"Lab 05 alone among the others: {lab05.seconds:.1f} s, aim {LAB05_AIM_S:.0f} s: "
                  f"{'met' if lab05.seconds <= LAB05_AIM_S else 'not met'}")
        if lab05 and lab05.ok:
            r = read_results(lab05.output)
            print(f"Lab 05 break-to-rollback (new canary Ready -> rollout undo): {r['seconds_break_to_rollback']} s "
                  "(aim 10 s)")


if __name__ == "__main__":
    main()
