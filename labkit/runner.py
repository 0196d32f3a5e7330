"""`labkit run`: execute the notebooks headless with papermill into build/.

Each notebook becomes build/<name>.ipynb (with its recorded results) and
build/<name>.html; the notebooks save their figures under build/figures/.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .clocks import use as use_clocks
from .errors import InputError, first_line
from .paths import NOTEBOOKS, build_dir


@dataclass
class Outcome:
    """How one notebook run went."""

    notebook: str
    ok: bool
    seconds: float
    output: Path
    html: Path | None
    error: str = ""


def all_notebooks() -> list[Path]:
    """The lab notebooks in order (NN_verb-title.ipynb)."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def select(labs: list[str] | None) -> list[Path]:
    """Notebooks matching lab numbers ('1', '01') or names; all when labs is empty."""
    notebooks = all_notebooks()
    if not labs:
        return notebooks
    chosen = []
    for want in labs:
        key = want.removesuffix(".ipynb")
        key = f"{int(key):02d}" if key.isdigit() else key
        matches = [nb for nb in notebooks if nb.stem == key or nb.stem.startswith(f"{key}_")]
        if not matches:
            names = ", ".join(nb.stem for nb in notebooks)
            raise InputError(f"no notebook matches {want!r} (have: {names})")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def declared_parameters(notebook: Path) -> set[str]:
    """Names the notebook's parameters cell declares."""
    import papermill

    return set(papermill.inspect_notebook(str(notebook)))


def to_html(notebook: Path) -> Path:
    """Render an executed notebook to HTML beside it."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(notebook))
    out = notebook.with_suffix(".html")
    out.write_text(body)
    return out


def execute(notebook: Path, out_dir: Path, parameters: dict[str, Any], timeout: int) -> Outcome:
    """Run one notebook with the parameters it declares; always write what was executed.

    What the kernel and papermill print to stderr (the kernel's start-up warnings, a traceback
    from a background thread) goes to build/<name>.log, not between the run's result lines."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / f"{notebook.stem}.log").open("ab") as log:
        saved = os.dup(2)
        os.dup2(log.fileno(), 2)  # the kernel inherits the descriptor
        try:
            return _execute(notebook, out_dir, parameters, timeout)
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _execute(notebook: Path, out_dir: Path, parameters: dict[str, Any], timeout: int) -> Outcome:
    import papermill

    output = out_dir / notebook.name
    known = declared_parameters(notebook)
    params = {k: v for k, v in parameters.items() if k in known}
    start = time.monotonic()
    error = ""
    try:
        papermill.execute_notebook(
            str(notebook), str(output), parameters=params, cwd=str(notebook.parent),
            execution_timeout=timeout, progress_bar=False, log_output=False,
        )
    except Exception as err:  # papermill's errors carry the failing cell; keep one line
        error = one_line(err)
        cell = stopped_cell(output)
        if cell:
            error = f"{cell}: {error}"
    seconds = time.monotonic() - start
    html = to_html(output) if output.exists() else None
    return Outcome(notebook.stem, not error, seconds, output, html, error)


def one_line(err: Exception) -> str:
    """A run's error in one line: the cell's exception for a cell that raised (papermill's message
    opens with a rule of dashes), else the first line that says something."""
    if getattr(err, "ename", None):
        return f"{err.ename}: {err.evalue}"
    return first_line(err)


def stopped_cell(output: Path) -> str:
    """The cell a run stopped in (failed, or still running when the per-cell timeout hit), named
    by its id and first line; empty when the output notebook says nothing."""
    import nbformat

    try:
        nb = nbformat.read(str(output), as_version=4)
    except Exception:  # no output notebook, or a half-written one: nothing to name
        return ""
    def name(index: int, cell: Any) -> str:
        first = next((line for line in cell.source.splitlines() if line.strip()), "")
        return f"cell {index} ({cell.get('id', '?')}: {first.strip()[:60]})"

    started = None
    for index, cell in enumerate(nb.cells):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return name(index, cell)  # failed, or interrupted by the per-cell timeout
        if cell.get("metadata", {}).get("papermill", {}).get("start_time"):
            started = (index, cell)
    return name(*started) if started else ""


def run_notebooks(labs: list[str] | None = None, build: str | Path | None = None,
                  parameters: dict[str, Any] | None = None, timeout: int = 600,
                  jobs: int = 0, clocks: str = "ci") -> list[Outcome]:
    """Execute the selected notebooks headless, `jobs` at a time (0: all at once - each lab has
    its own ports, servers and run directory); the exercises are applied unless told otherwise.
    `clocks`: "ci" runs each lab's waits on its CI values, "teaching" on the values a learner
    gets (labkit.clocks)."""
    use_clocks(clocks)
    params = {nb: {"solve_exercise": True, **(parameters or {})} for nb in select(labs)}
    return run_paths(params, Path(build) if build else build_dir(), timeout, jobs)


def run_paths(params: dict[Path, dict[str, Any]], out_dir: Path, timeout: int = 600,
              jobs: int = 0) -> list[Outcome]:
    """Execute each notebook with its parameters into out_dir, `jobs` at a time (0: all)."""
    if jobs < 0:
        raise InputError(f"--jobs must be 0 (all at once) or more, got {jobs}")
    os.environ["LABKIT_BUILD_DIR"] = str(out_dir.resolve())  # the kernels save figures there
    os.environ["LABKIT_HEADLESS"] = "1"  # no one moves a slider in a headless run (labkit.ui)
    notebooks = list(params)
    workers = min(jobs or len(notebooks), len(notebooks))
    if workers <= 1:
        return [execute(nb, out_dir, params[nb], timeout) for nb in notebooks]
    # one process per notebook at a time: a papermill client each, each with its own kernel;
    # forked after papermill and nbconvert are imported here, so each pays their import once
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import papermill  # noqa: F401
    from nbconvert import HTMLExporter  # noqa: F401

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(execute, nb, out_dir, params[nb], timeout) for nb in notebooks]
        return [f.result() for f in futures]
