"""PNG charts of a bench/run.py results file, drawn with matplotlib (no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
from matplotlib.ticker import FuncFormatter  # noqa: E402


def draw(results: dict[str, Any], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for name, painter in (("throughput.png", _throughput), ("latency.png", _latency), ("memory.png", _memory),
                          ("fanout-isolation.png", _fanout_isolation)):
        figure = painter(results)
        if figure is None:
            continue
        path = folder / name
        figure.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(figure)
        made.append(path)
    return made


def _throughput(results: dict[str, Any]) -> Any:
    arms = [(arm["label"], arm["rate"]) for arm in results.get("drain_arms", []) if arm.get("rate")]
    if not arms:
        return None
    figure, axis = plt.subplots(figsize=(8, 4))
    labels, rates = zip(*arms, strict=True)
    colors = ["#888888" if "ceiling" in label else "#d9822b" if "Celery" in label else "#2b6cb0" for label in labels]
    bars = axis.barh(labels, rates, color=colors)
    axis.bar_label(bars, labels=[f"{r:,.0f}/s" for r in rates], padding=3)
    axis.invert_yaxis()
    axis.set_xlabel("deliveries per second (middle 80 % of arrivals)")
    axis.set_title("Backlog drain: throughput per arm, same receiver, same bodies")
    axis.margins(x=0.2)
    return figure


def _latency(results: dict[str, Any]) -> Any:
    runs = [r for r in results.get("serve", {}).get("latency", []) if r.get("event_to_arrival", {}).get("n")]
    if not runs:
        return None
    figure, axes = plt.subplots(1, len(runs), figsize=(4 * len(runs), 4), sharey=True, squeeze=False)
    points = ["p50", "p90", "p99", "max"]
    for axis, run in zip(axes[0], runs, strict=True):
        hook = [run["event_to_arrival"][p] for p in points]
        bare = [run["ceiling"]["request_to_arrival"].get(p, float("nan")) for p in points]
        axis.plot(points, hook, marker="o", label="Hookdoor: event → arrival", color="#2b6cb0")
        axis.plot(points, bare, marker="s", label="ceiling: send → arrival", color="#888888")
        axis.set_yscale("log")
        axis.set_title(f"{run['fraction']:.0%} of capacity ({run['rate']:.0f}/s)")
        axis.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("latency, ms (log)")
    axes[0][0].legend(fontsize=8)
    figure.suptitle("Steady arrival: latency distribution at 25 / 50 / 90 % of measured capacity")
    return figure


def _memory(results: dict[str, Any]) -> Any:
    runs = [r for r in results.get("memory", []) if r.get("samples")]
    if not runs:
        return None
    figure, axes = plt.subplots(1, len(runs), figsize=(6 * len(runs), 4), squeeze=False)
    for axis, run in zip(axes[0], runs, strict=True):
        t = [s["t"] for s in run["samples"]]
        axis.plot(t, [s["rss_mb"] for s in run["samples"]], color="#2b6cb0", label="worker RSS (MB)")
        axis.set_xlabel("seconds since the worker started")
        axis.set_ylabel("RSS, MB", color="#2b6cb0")
        axis.set_ylim(bottom=0)
        depth = axis.twinx()
        depth.plot(t, [s["queue_depth"] for s in run["samples"]], color="#d9822b", label="queue depth")
        depth.set_ylabel("deliveries not yet arrived", color="#d9822b")
        depth.set_ylim(0, run["backlog"] * 1.05)
        depth.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
        axis.set_title(f"{run['backend']}: {run['backlog']:,}-delivery backlog")
    figure.suptitle("Worker memory and queue depth while draining a large backlog")
    figure.tight_layout()
    return figure


def _fanout_isolation(results: dict[str, Any]) -> Any:
    iso = results.get("isolation") or {}
    fan = (results.get("serve") or {}).get("fanout") or {}
    if "with_hanging" not in iso and not fan.get("runs"):
        return None
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    if fan.get("runs") and fan["runs"][0].get("latency"):
        points = ["p50", "p90", "p99", "max"]
        left.plot(points, [fan["runs"][0]["latency"][p] for p in points], marker="o", label="Hookdoor",
                  color="#2b6cb0")
        bare = results.get("ceiling_fanout", {}).get("latency", {})
        if bare.get("n"):
            left.plot(points, [bare[p] for p in points], marker="s", label="ceiling", color="#888888")
        left.set_title(f"Fan-out of one event to {fan['webhooks']:,} webhooks")
        left.set_ylabel("event → arrival, ms")
        left.set_ylim(bottom=0)
        left.legend()
    if "with_hanging" in iso:
        phases = [("none hanging", iso["without_hanging"]), ("20 % hanging", iso["with_hanging"]),
                  ("none, again", iso["without_hanging_again"])]
        bars = right.bar([p[0] for p in phases], [p[1]["healthy_rate"] for p in phases], color="#2b6cb0")
        right.bar_label(bars, labels=[f"{p[1]['healthy_rate']:,.0f}/s, p99 {p[1]['latency'].get('p99', 0):,.0f} ms"
                                      for p in phases])
        right.margins(y=0.15)
        right.set_title("Isolation: healthy endpoints' delivery rate")
        right.set_ylabel("deliveries/s to healthy endpoints")
    figure.tight_layout()
    return figure
