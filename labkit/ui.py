"""The explorers' controls: sliders in JupyterLab; one line when headless.

Headless runs (`labkit run` / `make run`, the test suite, CI - they set LABKIT_HEADLESS=1)
have no one to move a slider, and a cell that makes widgets can block the notebook client
waiting for the widgets' messages (jupyter/nbclient#312, seen here in CI). There the
explorer creates no widget at all and says where to use it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any


def headless() -> bool:
    """No one can move a slider here (LABKIT_HEADLESS set): explorers print instead of making widgets."""
    return os.environ.get("LABKIT_HEADLESS", "") not in ("", "0")


def explorer(show: Callable[..., None], controls: Callable[[], dict[str, Any]]) -> Any:
    """ipywidgets.interactive(show, **controls()) - the widgets are made only when someone can use them."""
    if headless():
        print("(the explorer's sliders appear when this notebook runs in JupyterLab)")
        return None
    import ipywidgets as w

    made = controls()
    for control in made.values():  # the whole label, never "baseline d..."
        style = getattr(control, "style", None)
        if style is not None and hasattr(style, "description_width"):
            style.description_width = "initial"
    return w.interactive(show, **made)
