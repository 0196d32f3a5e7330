"""Lab 02: correlate logs across services by trace ID."""

from .correlate import ATTEMPT_OUTCOMES, Correlation, Event, Suspect, Unpaired, correlate, discover

__all__ = ["ATTEMPT_OUTCOMES", "Correlation", "Event", "Suspect", "Unpaired", "correlate", "discover"]
