"""PNG plots (matplotlib, Agg backend): the trade-off scatter and the sensitivity bars. Both stay
screen-sized (at most ~1100x1300 px) whatever the model: the sensitivity plot shows the ``top``
most harmful rows."""
from __future__ import annotations

from pathlib import Path

from firmware_sim.plot import short_labels
from tinycnn.fileio import save_figure


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_tradeoff(result, path) -> Path:
    """Accuracy vs simulated latency; point area ~ flash bytes; red = on the accuracy-vs-latency
    Pareto front (drawn as a step line), blue = dominated, hollow x = does not fit the target;
    the float accuracy and the mixed-precision budget as horizontal lines."""
    from matplotlib.lines import Line2D
    plt = _pyplot()
    rows = [r for r in result.rows if "error" not in r]
    fig, ax = plt.subplots(figsize=(9, 6), dpi=100)
    fmax = max(r["flash_bytes"] for r in rows)
    labels = {}  # candidates at the same point share one label
    for r in rows:
        size = 40 + 500 * r["flash_bytes"] / fmax
        x, y = r["sim_latency_ms"], r["accuracy"]
        if not r["fits_target"]:
            ax.scatter(x, y, s=size, facecolors="none", edgecolors="gray", linewidths=1.2)
            ax.scatter(x, y, s=60, marker="x", c="gray")
        else:
            color = "tab:red" if r["pareto_latency"] else "tab:blue"
            ax.scatter(x, y, s=size, c=color, alpha=0.55, edgecolors="k", linewidths=0.6)
        labels.setdefault((round(x, 6), round(y, 6)), []).append(
            f"{r['candidate']} ({r['flash_bytes'] / 1024:.0f} KiB{'' if r['fits_target'] else ', does not fit'})")
    xs, ys = [r["sim_latency_ms"] for r in rows], [r["accuracy"] for r in rows]
    ymid = (min(ys) + max(ys)) / 2
    for (x, y), names in sorted(labels.items()):
        # labels stay inside the plot: a stack of names goes below a point in the upper half, a
        # single name above it; the right-most point's label is drawn to its left
        dy = -14 - 9.5 * len(names) if len(names) > 1 and (y > ymid or len(set(ys)) == 1) else 12
        right = x >= max(xs) and len(set(xs)) > 1
        ax.annotate("\n".join(names), (x, y), textcoords="offset points", xytext=(-10 if right else 10, dy),
                    ha="right" if right else "left", fontsize=7.5,
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.8", "alpha": 0.85})
    front = sorted((r for r in rows if r["pareto_latency"]), key=lambda r: r["sim_latency_ms"])
    if front:
        ax.step([r["sim_latency_ms"] for r in front], [r["accuracy"] for r in front], where="post",
                color="tab:red", lw=1.5)
    handles = [Line2D([], [], color="tab:red", marker="o", lw=1.5, label="Pareto front (accuracy vs latency)"),
               Line2D([], [], color="tab:blue", marker="o", lw=0, label="dominated"),
               Line2D([], [], color="gray", marker="x", lw=0, label="does not fit the target (SRAM/flash)")]
    if result.float_accuracy is not None:
        ax.axhline(result.float_accuracy, color="gray", ls=":", lw=1)
        handles.append(Line2D([], [], color="gray", ls=":", label=f"float {result.float_accuracy:.2f}%"))
        if result.mixed:
            b = result.mixed["max_accuracy_drop"]
            ax.axhline(result.float_accuracy - b, color="tab:purple", ls="--", lw=1)
            handles.append(Line2D([], [], color="tab:purple", ls="--", label=f"budget: float - {b:g} pts"))
    handles.append(Line2D([], [], color="k", marker="o", lw=0, markerfacecolor="none", label="point area ~ flash"))
    ax.set_xlabel(f"simulated latency on {result.target} (ms, estimate)")
    ax.set_ylabel(f"{result.accuracy_metric} (%)")
    ax.set_title(f"{Path(result.model).name}: accuracy vs latency")
    ax.grid(alpha=0.3)
    ax.margins(x=0.25, y=0.12)
    ax.legend(handles=handles, loc="best", fontsize=8)
    fig.tight_layout()
    try:
        save_figure(fig, path, "plot")
    finally:
        plt.close(fig)
    return Path(path)


def plot_sensitivity(result, path, top=20) -> Path:
    """Horizontal bars: accuracy drop of the ``top`` most harmful (layer, lowered precision) rows,
    most harmful on top; short layer names; colour = the precision the layer was lowered to."""
    from matplotlib.patches import Patch
    plt = _pyplot()
    ok = [r for r in result.rows if "error" not in r]
    rows = ok[:top] if top else ok
    names = short_labels([r["source"] for r in ok], 28)[:len(rows)]
    to = {"binary": "1-bit", "int8": "int8"}
    labels = [f"{n} ({r['op'].replace('_2D', '').lower()}) -> {to.get(r['precision'], r['precision'])}"
              for n, r in zip(names, rows)]
    fig, ax = plt.subplots(figsize=(9, 2.0 + 0.3 * len(rows)), dpi=100)
    colors = ["tab:orange" if r["precision"] == "binary" else "tab:blue" for r in rows]
    ax.barh(range(len(rows)), [r["accuracy_drop"] for r in rows], color=colors)
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel(f"{result.accuracy_metric} drop vs float (points); all other layers 16x8")
    shown = f"top {len(rows)} of {len(ok)}" if len(rows) < len(ok) else f"all {len(ok)}"
    ax.set_title(f"per-layer sensitivity of {Path(result.model).name}\n{shown} (layer, lowered precision), "
                 "most harmful first", fontsize=10)
    ax.legend(handles=[Patch(color="tab:blue", label="lowered to int8"),
                       Patch(color="tab:orange", label="lowered to 1-bit")], loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    try:
        save_figure(fig, path, "plot")
    finally:
        plt.close(fig)
    return Path(path)
