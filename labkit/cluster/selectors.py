"""Label selectors as kubectl and the API take them: a=b, a!=b, a, !a, a in (x,y), a notin (x,y)."""

from __future__ import annotations


def matches(labels: dict[str, str], selector: str | None) -> bool:
    """A label selector: a=b, a!=b, a (exists), !a, a in (x,y), a notin (x,y) - comma = and."""
    if not selector:
        return True
    for term in _split(selector):
        term = term.strip()
        if " notin " in term or " in " in term:
            key, _, rest = term.partition(" notin " if " notin " in term else " in ")
            values = {v.strip() for v in rest.strip().strip("()").split(",")}
            has = labels.get(key.strip()) in values
            if has == (" notin " in term):
                return False
        elif "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = term.split("==", 1) if "==" in term else term.split("=", 1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:].strip() in labels:
                return False
        elif term and term not in labels:
            return False
    return True


def _split(selector: str) -> list[str]:
    """Split on commas outside parentheses."""
    out, depth, cur = [], 0, ""
    for ch in selector:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    return [*out, cur]
