"""Lab 04: rotate a database secret and verify it at the application level."""

from .check import RotationResult, Target, VerifyResult, rotate, verify

__all__ = ["RotationResult", "Target", "VerifyResult", "rotate", "verify"]
