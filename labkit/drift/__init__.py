"""Lab 03: drift between Terraform state and live security groups, and unmanaged groups."""

from .check import (
           DriftReport,
           GroupDrift,
           check_drift,
           evaluate,
           fetch_groups,
           list_groups,
           load_allowlist,
)
from .rules import Rule, make_rule
from .state import ManagedGroup, load_state, managed_groups

__all__ = ["DriftReport", "GroupDrift", "ManagedGroup", "Rule", "check_drift", "evaluate", "fetch_groups",
           "list_groups", "load_allowlist", "load_state", "make_rule", "managed_groups"]
