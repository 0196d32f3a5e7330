"""Lab 04: rotate a database secret and verify it at the application level."""

from .._lazy import exports

__getattr__, __all__ = exports(__name__, {
    "check": ["RotationResult", "Target", "VerifyResult", "rotate", "verify"],
})
