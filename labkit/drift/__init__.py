"""Lab 03: drift between Terraform state and live security groups, and unmanaged groups."""

from .._lazy import exports

__getattr__, __all__ = exports(__name__, {
    "check": ["DriftReport", "GroupDrift", "check_drift", "evaluate", "fetch_groups", "list_groups", "load_allowlist"],
    "rules": ["Rule", "make_rule"],
    "state": ["ManagedGroup", "load_state", "managed_groups"],
})
