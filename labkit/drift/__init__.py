"""Lab 03: drift between Terraform state and live security groups, and unmanaged groups."""

from .._lazy import exports

__getattr__, __all__ = exports(__name__, {
    "check": ["AcceptedRule", "DriftReport", "GroupDrift", "compare", "evaluate", "live_rules", "parse_allowlist"],
    "fetch": ["check_drift", "fetch_groups", "list_groups", "load_allowlist", "snapshot"],
    "replay": ["replay"],
    "rules": ["Rule", "make_rule"],
    "state": ["ManagedGroup", "load_state", "managed_groups"],
})
