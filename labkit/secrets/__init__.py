"""Lab 04: rotate a database secret and verify it at the application level."""

from .._lazy import exports

__getattr__, __all__ = exports(__name__, {
    "act": ["Rotation", "RotationResult", "Step", "rotate"],
    "check": ["Target", "VerifyResult", "verify"],
})
