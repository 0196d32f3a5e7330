"""The Cost Explorer metrics the check reads (a module of its own: the CLI parser needs them
without importing pandas)."""

METRIC = "UnblendedCost"
METRICS = ("UnblendedCost", "BlendedCost", "AmortizedCost", "NetUnblendedCost", "NetAmortizedCost")
