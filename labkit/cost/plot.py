"""The Lab 01 figure: daily cost per service, the spike threshold band, findings marked."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from .data import DailyCosts
from .detect import LEVEL_SHIFT, SPIKE, CostRules, Detection, spike_band


def plot_costs(costs: DailyCosts, found: Detection, rules: CostRules | None = None,
               path: Path | None = None, title: str = "Daily cost per service"):
    """One panel per service (their scales differ by 100x); returns the figure, saves PNG if path."""
    rules = rules or CostRules()
    values = costs.table.to_numpy(dtype=float)
    mean, _std, threshold, _hit = spike_band(values, rules)
    services = costs.services
    fig, axes = plt.subplots(len(services), 1, figsize=(10, 2.3 * len(services) + 0.6), sharex=True,
                             squeeze=False)
    x = costs.table.index
    for j, (ax, svc) in enumerate(zip(axes[:, 0], services, strict=True)):
        ax.plot(x, values[:, j], color="#1f4e79", lw=1.6, label="daily cost")
        ax.fill_between(x, mean[:, j], threshold[:, j], where=np.isfinite(threshold[:, j]),
                        color="#9ecae1", alpha=0.5, label=f"mean .. mean+{rules.multiplier:g}σ (prev {rules.baseline_days} d)")
        for kind, marker, color in ((SPIKE, "X", "#c0392b"), (LEVEL_SHIFT, "s", "#e67e22")):
            hits = [a for a in found.of_kind(kind) if a.service == svc]
            if hits:
                ax.scatter([np.datetime64(a.date) for a in hits], [a.actual for a in hits], marker=marker,
                           s=70, color=color, zorder=5, label=kind.replace("_", " "))
        ax.set_title(svc, fontsize=10, loc="left")
        ax.set_ylabel("USD / day")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(title)
    fig.autofmt_xdate()
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
