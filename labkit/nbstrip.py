"""A git clean filter for notebooks: outputs, execution counts and run metadata never reach git.

JupyterLab autosaves a notebook with its outputs; committed as is, a learner's results (and
whatever a cell printed) would land in the repository. `make setup` registers this as the
`nbstrip` filter of the clone (.gitattributes maps *.ipynb to it), so `git add` stores the
stripped form while the working copy keeps its outputs.

    python -m labkit.nbstrip < notebook.ipynb > stripped.ipynb
"""

from __future__ import annotations

import json
import sys
from typing import Any

VOLATILE_CELL_METADATA = ("execution", "papermill", "collapsed", "scrolled")
VOLATILE_NOTEBOOK_METADATA = ("papermill", "widgets")


def strip(nb: dict[str, Any]) -> dict[str, Any]:
    """The notebook without outputs, execution counts and per-run metadata."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        meta = cell.get("metadata", {})
        for key in VOLATILE_CELL_METADATA:
            meta.pop(key, None)
    for key in VOLATILE_NOTEBOOK_METADATA:
        nb.get("metadata", {}).pop(key, None)
    return nb


def main() -> int:
    """Read a notebook on stdin, write it without outputs to stdout (the git filter)."""
    text = sys.stdin.read()
    try:
        nb = json.loads(text)
    except ValueError:
        sys.stdout.write(text)  # not JSON (a merge in progress): leave it to git
        return 0
    sys.stdout.write(json.dumps(strip(nb), indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
