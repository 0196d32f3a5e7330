"""The Lab 02 figure: a swimlane timeline of one trace, one lane per service."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from .result import Correlation

ERROR_LEVELS = ("ERROR", "CRITICAL", "FATAL")


def _ms(result: Correlation, ts) -> float:
    t0 = result.window[0] if result.window else ts
    return (ts - t0).total_seconds() * 1000.0


def plot_swimlane(result: Correlation, path: Path | None = None, title: str | None = None):
    """Events as marks on their service's lane; errors red, unpaired attempts ringed, suspects as X."""
    first = {}
    for e in result.events:
        first.setdefault(e.service, e.timestamp)
    lanes = sorted(first, key=lambda s: first[s]) + [s for s in result.services if s not in first]
    y = {s: i for i, s in enumerate(reversed(lanes))}
    fig, ax = plt.subplots(figsize=(11, 1.0 + 0.9 * len(lanes)))
    unpaired = {(u.file, u.line) for u in result.unpaired_attempts}
    times = [_ms(result, e.timestamp) for e in result.events if e.timestamp is not None]
    close = max(times or [1.0]) * 0.05 or 1.0  # labels nearer than this on one lane are stacked
    last_label: dict[str, tuple[float, int]] = {}
    for e in result.events:
        if e.timestamp is None:
            continue
        x, lane = _ms(result, e.timestamp), y.get(e.service, 0)
        prev_x, level = last_label.get(e.service, (float("-inf"), -1))
        level = level + 1 if x - prev_x < close else 0
        last_label[e.service] = (x, level)
        color = "#c0392b" if e.level in ERROR_LEVELS else "#1f4e79"
        ax.scatter([x], [lane], s=60, color=color, zorder=3)
        if (e.file, e.line) in unpaired:
            ax.scatter([x], [lane], s=260, facecolors="none", edgecolors="#e67e22", linewidths=2, zorder=4)
            ax.annotate("attempt without outcome", (x, lane), xytext=(6, -14), textcoords="offset points",
                        fontsize=8, color="#e67e22")
        ax.annotate(e.event, (x, lane), xytext=(4, 7 + 10 * level), textcoords="offset points", fontsize=7)
    for s in result.suspects:
        if s.timestamp is None or s.service not in y:
            continue
        x = _ms(result, s.timestamp)
        ax.scatter([x], [y[s.service]], marker="X", s=120, color="#c0392b", zorder=5)
        ax.annotate("suspect: " + s.text.split(" ", 1)[-1][:60], (x, y[s.service]), xytext=(6, -16),
                    textcoords="offset points", fontsize=8, color="#c0392b")
    ax.set_yticks(list(y.values()), list(y.keys()))
    ax.set_ylim(-0.7, len(lanes) - 0.3)
    ax.set_xlabel("ms since the trace's first event")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title or f"trace {result.trace_id}")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
