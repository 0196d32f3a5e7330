"""The Lab 06 figure: night by night, what the job said against what the restore check found,
the size of each backup, and its age against the RPO."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

GREEN, RED, GREY = "#1e8449", "#c0392b", "#95a5a6"


def plot_nights(history: list[dict[str, Any]], rpo_hours: float, path: Path | None = None,
                title: str = "Lab 06: the job's status vs the restore"):
    """Top: job status and restore verdict per night; middle: object size; bottom: backup age vs the RPO."""
    nights = [r["night"] for r in history]
    fig, (ax, sx, gx) = plt.subplots(3, 1, figsize=(10, 7), sharex=True,
                                     gridspec_kw={"height_ratios": [1.3, 1, 1]})
    for r in history:
        n = r["night"]
        if not r["job_ran"]:
            ax.scatter(n, 1, marker="o", s=120, facecolors="none", edgecolors=GREY)
        else:
            ax.scatter(n, 1, marker="o" if r["job_exit"] == 0 else "X", s=120,
                       color=GREEN if r["job_exit"] == 0 else RED)
        ok = not r["kinds"]
        ax.scatter(n, 0, marker="o" if ok else "X", s=120, color=GREEN if ok else RED)
        if r["kinds"]:
            ax.annotate(", ".join(r["kinds"]), (n, 0), textcoords="offset points", xytext=(0, -16),
                        ha="center", fontsize=7, color=RED)
        if r["bad"]:
            ax.axvspan(n - 0.4, n + 0.4, color=RED, alpha=0.08)
    ax.set_yticks([0, 1], ["restore check", "job status"])
    ax.set_ylim(-0.8, 1.5)
    ax.set_title("green: exit 0 / verified; red: failed / findings; hollow: the job did not run; "
                 "shaded: the data would not come back", fontsize=8)
    sizes = [(r["night"], r["size"]) for r in history if r["size"]]
    if sizes:
        sx.bar([n for n, _ in sizes], [s for _, s in sizes], color=[RED if s < 1024 else "#2e86c1" for _, s in sizes])
        sx.set_yscale("log")
        sx.set_ylim(bottom=1)
        for n, size in sizes:
            if size < 1024:
                sx.annotate(f"{size} B", (n, size), textcoords="offset points", xytext=(0, 3), ha="center",
                            fontsize=8, color=RED)
    sx.set_ylabel("new object (bytes)")
    ages = [(r["night"], r["age_hours"]) for r in history if r["age_hours"] is not None]
    gx.bar([n for n, _ in ages], [a for _, a in ages], color=[RED if a > rpo_hours else "#2e86c1" for _, a in ages])
    gx.axhline(rpo_hours, color=RED, linestyle="--", linewidth=1)
    gx.annotate(f"RPO {rpo_hours:g} h", (nights[0] if nights else 0, rpo_hours), textcoords="offset points",
                xytext=(0, 4), fontsize=8, color=RED)
    gx.set_ylabel("newest backup's age (h)")
    gx.set_xlabel("night")
    gx.set_xticks(nights)
    fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
