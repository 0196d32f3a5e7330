"""The Lab 05 figure: canary vs stable P99 and error rate, client-side latency, v1 and v2 verdicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

COLORS = {"healthy": "#27ae60", "breach": "#c0392b", "inconclusive": "#95a5a6"}


def plot_watch(samples: list[dict[str, Any]], judges: list[Any], load: list[dict[str, Any]],
               events: list[tuple[str, float]], canary: str, stable: str, latency_threshold: float,
               error_threshold: float, path: Path | None = None, title: str = "canary vs stable"):
    """Three rows on one time axis: P99 (+ client latency), error rate, each judge's verdicts and strikes."""
    t0 = samples[0]["t"] if samples else 0.0
    xs = [s["t"] - t0 for s in samples]
    fig, (lat, err, verdicts) = plt.subplots(3, 1, figsize=(11, 8), sharex=True,
                                              gridspec_kw={"height_ratios": [3, 2, 1.2]})
    for app, color in ((canary, "#c0392b"), (stable, "#1f4e79")):
        lat.plot(xs, [s.get(f"{app}:p99") for s in samples], marker=".", color=color, label=f"{app} P99 (Prometheus)")
        err.plot(xs, [s.get(f"{app}:error_rate") for s in samples], marker=".", color=color, label=app)
    # plotted when the answer arrived, as Prometheus sees a request: when it completes
    client = [r for r in load if r["service"] == canary and r["status"] is not None and r["t"] + r["latency"] >= t0]
    lat.scatter([r["t"] + r["latency"] - t0 for r in client], [r["latency"] for r in client], s=6, alpha=0.4,
                color="#e67e22", label=f"{canary} client-side latency")
    timeouts = [r for r in load if r["service"] == canary and r["error"] == "timeout" and r["t"] >= t0]
    if timeouts:
        lat.scatter([r["t"] - t0 for r in timeouts], [r["latency"] for r in timeouts], marker="x", color="black",
                    label="client timeouts")
    lat.axhline(latency_threshold, color="#7f8c8d", ls=":", label=f"P99 threshold {latency_threshold:g} s")
    err.axhline(error_threshold, color="#7f8c8d", ls=":", label=f"threshold {error_threshold:g}")
    lat.set_ylabel("seconds")
    err.set_ylabel("5xx / all")
    lat.legend(fontsize=7, loc="upper left")
    err.legend(fontsize=7, loc="upper left")
    for i, judge in enumerate(judges):
        for ch in judge.checks:
            x = ch.t - t0
            verdicts.scatter([x], [i], marker="s", s=60, color=COLORS[ch.verdict])
            if ch.strikes:
                verdicts.annotate(str(ch.strikes), (x, i), xytext=(0, 6), textcoords="offset points", fontsize=7,
                                  ha="center")
    verdicts.set_yticks(range(len(judges)), [j.config.name for j in judges])
    verdicts.set_ylim(-0.7, len(judges) - 0.3)
    verdicts.set_xlabel("seconds (squares: healthy green, breach red, inconclusive grey; numbers: strikes)")
    for ax in (lat, err, verdicts):
        for _label, when in events:
            if when >= t0:
                ax.axvline(when - t0, color="#34495e", lw=1, ls="--")
        ax.grid(alpha=0.3)
    for label, when in events:
        if when >= t0:
            lat.annotate(label, (when - t0, lat.get_ylim()[1]), fontsize=7, rotation=90, va="top")
    fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
