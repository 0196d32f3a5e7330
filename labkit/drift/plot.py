"""The Lab 03 figure: expected vs actual rules per group (a diff table) and IaC coverage."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from .check import DriftReport

COLORS = {"added": "#f5b7b1", "removed": "#fad7a0", "accepted": "#d6dbdf", "ok": "#ffffff",
          "unmanaged": "#f5b7b1"}


def plot_drift(report: DriftReport, path: Path | None = None, title: str = "Terraform state vs live"):
    """Left: one row per rule with its state/live presence; right: managed vs unmanaged groups."""
    rows, colors = [], []
    for g in report.groups:
        accepted = {(a["direction"], a["protocol"], a["from_port"], a["to_port"], a["source"]) for a in g.accepted}
        rules = sorted(set(g.expected) | set(g.actual) | set(g.added))
        for r in rules:
            key = (r.direction, r.protocol, r.from_port, r.to_port, r.source)
            status = ("accepted" if key in accepted else "added" if r in g.added
                      else "removed" if r in g.removed else "ok")
            rows.append([g.name or g.id, str(r), "yes" if r in g.expected else "-",
                         "yes" if r in g.actual else "-", status])
            colors.append([COLORS[status]] * 5)
    for u in report.unmanaged or []:
        rows.append([u["name"], f"({u['rules']} rules)", "-", "yes", "unmanaged"])
        colors.append([COLORS["unmanaged"]] * 5)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 1.2 + 0.4 * max(len(rows), 3)),
                                 gridspec_kw={"width_ratios": [4, 1]})
    ax.axis("off")
    if rows:
        table = ax.table(cellText=rows, cellColours=colors, loc="center", cellLoc="left",
                         colLabels=["group", "rule", "in state", "live", "status"],
                         colWidths=[0.16, 0.5, 0.1, 0.08, 0.16])
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        table.scale(1, 1.3)
    ax.set_title("expected (state) vs actual (live) rules")
    cov = report.coverage or {"managed": len(report.groups), "total": len(report.groups)}
    bx.bar(["managed", "unmanaged"], [cov["managed"], cov["total"] - cov["managed"]],
           color=["#1f4e79", "#c0392b"])
    bx.set_title(f"IaC coverage {cov['managed']}/{cov['total']}")
    bx.set_ylabel("security groups")
    bx.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
