"""The Lab 04 figure: per-pod /healthz vs /healthz/db, requests under load, rotation steps, failure windows."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt


def plot_rotation(monitor: list[dict[str, Any]], load: list[dict[str, Any]], events: list[tuple[str, float]],
                  windows: list[dict[str, Any]], path: Path | None = None):
    """Three panels over one time axis (seconds since the first sample) and the failure-window bars."""
    t0 = min([r["t"] for r in monitor + load] or [0.0])
    fig = plt.figure(figsize=(12, 8))
    grid = fig.add_gridspec(3, 4)
    health = fig.add_subplot(grid[0, :])
    traffic = fig.add_subplot(grid[1, :], sharex=health)
    bars = fig.add_subplot(grid[2, :2])
    steps = fig.add_subplot(grid[2, 2:])

    pods = sorted({r["pod"] for r in monitor}, key=lambda p: min(r["t"] for r in monitor if r["pod"] == p))
    for i, pod in enumerate(pods):
        rows = [r for r in monitor if r["pod"] == pod]
        xs = [r["t"] - t0 for r in rows]
        health.scatter(xs, [i + 0.15] * len(rows), s=12, marker="s",
                       c=[_colour(r["healthz"], "#95a5a6") for r in rows])
        health.scatter(xs, [i - 0.15] * len(rows), s=12, marker="o",
                       c=[_colour(r["db"], "#c0392b") for r in rows])
    health.set_yticks(range(len(pods)), [p.rsplit("-", 2)[-2][:4] + "-" + p.rsplit("-", 1)[-1] for p in pods],
                      fontsize=7)
    health.set_title("per pod: /healthz (squares, what the probe sees) vs /healthz/db (dots, what users need)",
                     fontsize=9)

    per_second: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for r in load:
        per_second[int(r["t"] - t0)][0 if r["ok"] else 1] += 1
    secs = sorted(per_second)
    traffic.bar(secs, [per_second[s][0] for s in secs], width=0.9, color="#1f4e79", label="ok")
    traffic.bar(secs, [per_second[s][1] for s in secs], width=0.9, bottom=[per_second[s][0] for s in secs],
                color="#c0392b", label="failed")
    traffic.set_ylabel("requests / s")
    traffic.legend(fontsize=8, loc="upper right")
    for ax in (health, traffic):
        for _label, when in events:
            ax.axvline(when - t0, color="#7f8c8d", lw=0.8, ls="--")
        ax.grid(axis="x", alpha=0.3)
    for label, when in events:
        health.annotate(label, (when - t0, len(pods) - 0.5), fontsize=7, rotation=90, va="top", color="#34495e")
    traffic.set_xlabel("seconds")

    names = [w["strategy"].replace("single", "single user\n(in place)").replace("alternating", "alternating\nusers")
             for w in windows]
    bars.bar(names, [w["failed"] for w in windows], color=["#c0392b" if w["failed"] else "#27ae60" for w in windows])
    for i, w in enumerate(windows):
        bars.annotate(f"{w['failed']} of {w['requests']}", (i, w["failed"]), ha="center", va="bottom", fontsize=8)
    bars.set_title("failed requests during the rotation", fontsize=9)
    for i, w in enumerate(windows):
        ts = [t - w["start"] for _, t in w["steps"]]
        steps.plot(ts, [i] * len(ts), marker="|", ms=14, lw=2, label=w["strategy"])
    steps.set_yticks(range(len(windows)), [w["strategy"] for w in windows])
    if windows:
        last = -1.0
        for name, t in windows[0]["steps"]:
            x = t - windows[0]["start"]
            if x - last >= 0.25 or last < 0:  # steps a few ms apart would print on top of each other
                steps.annotate(name if last >= 0 else "read .. restart", (x, 0), xytext=(0, 8),
                               textcoords="offset points", fontsize=7, rotation=30)
                last = x
    steps.set_xlabel("seconds since the rotation began")
    steps.set_ylim(-0.5, len(windows) - 0.2)
    steps.set_title("rotation steps", fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def _colour(ok: bool | None, failed: str) -> str:
    """Green for a 200, `failed` for another answer, pale for a sample the monitor could not take."""
    return "#27ae60" if ok else "#ecf0f1" if ok is None else failed
