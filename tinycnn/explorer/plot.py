"""PNG plots (matplotlib, Agg backend): the trade-off scatter and the sensitivity bars."""
from __future__ import annotations

from pathlib import Path

from tinycnn.fileio import save_figure


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_tradeoff(result, path) -> Path:
    """Accuracy vs simulated latency; point area ~ flash bytes; the accuracy-vs-latency Pareto
    front drawn as a step line."""
    plt = _pyplot()
    rows = [r for r in result.rows if "error" not in r]
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
    fmax = max(r["flash_bytes"] for r in rows)
    labels = {}  # candidates at the same point share one label
    for r in rows:
        size = 40 + 600 * r["flash_bytes"] / fmax
        color = "tab:red" if r["pareto_latency"] else "tab:blue"
        ax.scatter(r["sim_latency_ms"], r["accuracy"], s=size, c=color, alpha=0.55, edgecolors="k", linewidths=0.6)
        xy = (round(r["sim_latency_ms"], 6), round(r["accuracy"], 6))
        labels.setdefault(xy, []).append(f"{r['candidate']} ({r['flash_bytes'] / 1024:.0f} KiB)")
    for (x, y), names in labels.items():
        ax.annotate("\n".join(names), (x, y), textcoords="offset points", xytext=(8, -4 * len(names)),
                    fontsize=7)
    front = sorted((r for r in rows if r["pareto_latency"]), key=lambda r: r["sim_latency_ms"])
    if front:
        ax.step([r["sim_latency_ms"] for r in front], [r["accuracy"] for r in front], where="post",
                color="tab:red", lw=1.5, label="Pareto front (accuracy vs latency)")
    if result.float_accuracy is not None:
        ax.axhline(result.float_accuracy, color="gray", ls=":", lw=1, label="float reference")
    ax.set_xlabel(f"simulated latency on {result.target} (ms, estimate)")
    ax.set_ylabel(f"{result.accuracy_metric} (%)")
    ax.set_title(f"{Path(result.model).name}: accuracy vs latency (point size = flash)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    try:
        save_figure(fig, path, "plot")
    finally:
        plt.close(fig)
    return Path(path)


def plot_sensitivity(result, path) -> Path:
    """Horizontal bars: accuracy drop per (layer, lowered precision), most harmful on top."""
    plt = _pyplot()
    rows = [r for r in result.rows if "error" not in r]
    labels = [f"{r['source'][-40:]} -> {r['precision']}" for r in rows]
    fig, ax = plt.subplots(figsize=(8, 1.5 + 0.28 * len(rows)), dpi=110)
    colors = ["tab:orange" if r["precision"] == "binary" else "tab:blue" for r in rows]
    ax.barh(range(len(rows)), [r["accuracy_drop"] for r in rows], color=colors)
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"{result.accuracy_metric} drop vs float (points); others at 16x8")
    ax.set_title(f"per-layer sensitivity: {Path(result.model).name}")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    try:
        save_figure(fig, path, "plot")
    finally:
        plt.close(fig)
    return Path(path)
