"""Lab 01: cost anomaly detection over AWS Cost Explorer data."""

from .._lazy import exports

__getattr__, __all__ = exports(__name__, {
    "data": ["DailyCosts", "load_input", "parse_results"],
    "detect": ["LEVEL_SHIFT", "SPIKE", "Anomaly", "CostRules", "Detection", "detect"],
    "fetch": ["Fetched", "cost_request", "fetch_daily_costs", "fetch_results"],
    "lab": ["CostLab", "ack_verdict", "budget_alert", "check", "check_new_spend", "findings_table",
            "new_spend_verdict", "replay", "start_lab"],
})
