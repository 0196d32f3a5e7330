"""An object the API refuses (422 naming the field), and the check for a required field."""

from __future__ import annotations

from typing import Any


class Invalid(ValueError):
    """An object the API refuses: 422 Unprocessable Entity, naming the field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def require(obj: Any, path: str, kind: type | tuple = dict) -> Any:
    """The value at a dotted path, of the given type; Invalid naming the path otherwise."""
    node = obj
    for part in path.split("."):
        if not isinstance(node, dict) or node.get(part) is None:
            raise Invalid(path, "Required value")
        node = node[part]
    if not isinstance(node, kind):
        raise Invalid(path, f"must be {getattr(kind, '__name__', kind)}")
    return node
