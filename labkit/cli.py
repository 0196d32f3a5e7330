"""The `labkit` command: a thin wrapper over the same functions the notebooks call.

Exit codes everywhere: 0 = nothing found, 2 = findings, 1 = bad input or an
environment error (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import sys

from .clocks import CHOICES as CLOCKS
from .errors import LabkitError


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors; 2 means 'findings' here, so use 1."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(1)


def _results(args: argparse.Namespace) -> int:
    from .results import read_results

    found = read_results(args.notebook)
    if args.json:
        print(json.dumps(found, indent=2))
    else:
        for name, value in found.items():
            print(f"{name} = {value!r}")
    return 0


def _clean(args: argparse.Namespace) -> int:
    from .cleanup import clean

    report = clean(remove=not args.keep)
    for line in report.stopped:
        print(f"stopped {line}")
    print(f"{len(report.stopped)} leftover processes stopped, {len(report.removed_runs)} run directories "
          f"removed, {len(report.active_runs)} runs still active")
    return 0


def _run(args: argparse.Namespace) -> int:
    from .runner import run_notebooks

    outcomes = run_notebooks(args.labs, build=args.build_dir, parameters=dict(args.param or []),
                             timeout=args.timeout, jobs=args.jobs, clocks=args.clocks)
    failed = [o for o in outcomes if not o.ok]
    for o in outcomes:
        status = "ok" if o.ok else f"FAILED: {o.error}"
        print(f"{o.notebook}: {o.seconds:.1f} s {status}")
    return 1 if failed else 0


def _doctor(args: argparse.Namespace) -> int:
    from .doctor import doctor

    return doctor(backend=args.backend, profile=args.profile, region=args.region)


def _param(text: str) -> tuple[str, object]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return name, json.loads(raw)
    except ValueError:
        return name, raw


# each lab's subcommand, registered by labkit.<name>.cli
LAB_COMMANDS = ("cost", "logs", "drift", "cluster", "secrets", "canary", "backup")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command tree; given a lab's subcommand, only that lab's part of it (the other
    labs' command modules are not imported: `labkit logs correlate` starts sooner)."""
    import importlib

    parser = _Parser(prog="labkit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("results", help="print the values an executed notebook recorded")
    p.add_argument("notebook")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_results)

    p = sub.add_parser("clean", help="stop processes left over by earlier runs")
    p.add_argument("--keep", action="store_true", help="keep the run directories (logs)")
    p.set_defaults(func=_clean)

    p = sub.add_parser("run", help="execute notebooks headless into build/ (executed .ipynb, .html, figures)")
    p.add_argument("labs", nargs="*", help="lab numbers or notebook names (default: all)")
    p.add_argument("--build-dir", help="output directory (default: build/)")
    p.add_argument("-p", "--param", action="append", type=_param, metavar="NAME=VALUE",
                   help="notebook parameter (JSON value or string); repeatable")
    p.add_argument("--timeout", type=int, default=600, help="per-cell execution timeout in seconds")
    p.add_argument("--jobs", type=int, default=0,
                   help="notebooks run at once (default 0: all; 1: one after another)")
    p.add_argument("--clocks", choices=CLOCKS, default="ci",
                   help="ci (default): each lab's waits on its CI values, the same lesson faster; "
                        "teaching: the values a learner gets in JupyterLab")
    p.set_defaults(func=_run)

    p = sub.add_parser("doctor", help="what is installed, what is missing for which lab, how to install it")
    p.add_argument("--backend", choices=["local", "aws"], default="local")
    p.add_argument("--profile")
    p.add_argument("--region", default="us-east-1")
    p.set_defaults(func=_doctor)

    for name in LAB_COMMANDS:
        if command in (None, name):
            importlib.import_module(f".{name}.cli", __package__).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `labkit` console script."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv and argv[0] in LAB_COMMANDS else None)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except LabkitError as err:
        print(f"labkit: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("labkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
