"""Lab 02: correlate logs across services by trace ID."""

from .._lazy import exports

__getattr__, __all__ = exports(__name__, {
    "correlate": ["ATTEMPT_OUTCOMES", "Correlation", "Event", "Suspect", "Unpaired", "correlate", "discover"],
})
