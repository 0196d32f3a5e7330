"""Lab 01: cost anomaly detection over AWS Cost Explorer data."""

from .data import DailyCosts, load_input, parse_results
from .detect import LEVEL_SHIFT, SPIKE, Anomaly, CostRules, Detection, detect
from .fetch import Fetched, cost_request, fetch_daily_costs, fetch_results
from .lab import (
    CostLab,
    ack_verdict,
    budget_alert,
    check,
    check_new_spend,
    findings_table,
    new_spend_verdict,
    replay,
    start_lab,
)

__all__ = [
    "LEVEL_SHIFT", "SPIKE", "Anomaly", "CostLab", "CostRules", "ack_verdict", "DailyCosts", "Detection", "Fetched",
    "budget_alert", "check", "check_new_spend", "new_spend_verdict", "cost_request", "detect", "fetch_daily_costs",
    "fetch_results", "findings_table", "load_input", "parse_results", "replay", "start_lab",
]
