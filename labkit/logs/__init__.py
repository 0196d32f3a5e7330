"""Lab 02: correlate logs across services by trace ID."""

from .._lazy import exports

__getattr__, __all__ = exports(__name__, {
    "correlate": ["ATTEMPT_OUTCOMES", "correlate", "discover", "parse_pair", "unpaired"],
    "result": ["Correlation", "Event", "LineWarning", "Suspect", "Unpaired"],
    "report": ["render"],
})
