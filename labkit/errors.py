"""One exception root for everything labkit reports to a learner or a CI job."""

from __future__ import annotations


class LabkitError(Exception):
    """A problem labkit can explain in one line: bad input, a missing tool, a failed step."""


class InputError(LabkitError):
    """The data or arguments given to a check are malformed."""


class ComponentError(LabkitError):
    """A real component (server, process, endpoint) could not be started or reached."""


class ReadinessTimeout(ComponentError):
    """A component did not become ready before its deadline."""


def first_line(err: BaseException, with_type: bool = False) -> str:
    """An error in one line: its first line that says something (not a rule of dashes), or its type's
    name; with_type puts the type's name in front (`ValueError: ...`)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip(" -")]
    if not lines:
        return type(err).__name__
    return f"{type(err).__name__}: {lines[0]}" if with_type else lines[0]
