"""Lab 01: cost anomaly detection over AWS Cost Explorer data."""

from .._lazy import exports

__getattr__, __all__ = exports(__name__, {
    "check": ["BudgetStatus", "budget_alert", "check"],
    "data": ["DailyCosts"],
    "detect": ["LEVEL_SHIFT", "SPIKE", "Anomaly", "CostRules", "Detection", "detect"],
    "exercise": ["ack_verdict", "check_new_spend", "new_spend_verdict"],
    "fetch": ["Fetched", "cost_request", "fetch_daily_costs", "fetch_results"],
    "lab": ["CostLab", "start_lab"],
    "replay": ["ReplayResult", "replay"],
    "responses": ["load_input", "parse_results"],
    "report": ["findings_table"],
})
