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
