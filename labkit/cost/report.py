"""The findings as the notebook shows them."""

from __future__ import annotations

import pandas as pd

from .detect import Detection


def findings_table(found: Detection) -> pd.DataFrame:
    """The findings as a table, ranked by dollar impact (what the notebook shows)."""
    rows = [a.to_dict() for a in found.anomalies]
    columns = ["kind", "service", "date", "actual", "baseline_avg", "threshold", "pct_above", "impact",
               "estimated", "since"]
    return pd.DataFrame(rows, columns=columns)
