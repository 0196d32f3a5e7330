"""Reference solution of the Lab 01 exercise: flag spend on a service that had none."""

import pandas as pd


def new_spend(table: pd.DataFrame, min_impact: float, baseline_days: int = 7) -> list[str]:
    """Services under $0.01 on every one of the baseline days before the last day,
    and at least min_impact on the last day."""
    last = table.iloc[-1]
    before = table.iloc[-1 - baseline_days : -1]
    quiet = (before < 0.01).all()
    return sorted(last.index[quiet & (last >= min_impact)])
