"""PNG of a simulation: per-layer live SRAM (with the arena high-water and budget) and per-layer
estimated latency. Layer labels are short (``short_labels``) and the figure width is bounded, so
a 100-layer model stays readable on a screen."""
from __future__ import annotations

import os
import re
from pathlib import Path

MAX_TICKS = 60  # beyond this, every k-th layer is labelled


def short_name(name: str) -> str:
    """'/features/features.2/conv/conv.2/conv.2.0/Conv' -> 'features.2/conv.2.0': a path token is
    dropped when a later token repeats it with a suffix (torch.onnx scope names), and so is a
    trailing op-type token ('Conv', 'Gemm')."""
    sep = "/" if "/" in name else "_"
    tokens = [t for t in re.split(r"[/_]" if sep == "/" else "_", name) if t]
    keep = [t for i, t in enumerate(tokens) if not any(u.startswith(t + ".") for u in tokens[i + 1:])]
    if len(keep) > 1 and re.fullmatch(r"[A-Z][A-Za-z0-9]*", keep[-1]):
        keep = keep[:-1]
    return sep.join(keep) or name


def short_labels(names: list, width: int = 24) -> list:
    """Readable short layer names (``short_name``, then the prefix every name shares is dropped);
    a name still longer than ``width`` keeps its informative end."""
    names = [short_name(str(n)) for n in names]
    prefix = os.path.commonprefix(names) if len(names) > 1 else ""
    cut = max(prefix.rfind(c) for c in "._/:") + 1 if prefix else 0
    out = []
    for n in names:
        s = (n[cut:] if len(n) > cut else n).strip("._/") or n
        out.append(s if len(s) <= width else "…" + s[-(width - 1):])
    return out


def plot_report(report, path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report.rows
    n = len(rows)
    x = range(n)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(min(16, max(7, 0.22 * n + 3)), 7.5), sharex=True)
    ax1.bar(x, [r["sram_live_bytes"] / 1024 for r in rows], color="tab:blue", label="live tensors + scratch")
    ax1.step(x, [r["arena_high_bytes"] / 1024 for r in rows], where="mid", color="tab:red",
             label="arena high-water")
    ax1.axhline(report.peak_sram_bytes / 1024, color="tab:red", ls=":", lw=1,
                label=f"arena {report.peak_sram_bytes / 1024:.1f} KiB")
    budget = getattr(report, "sram_budget_bytes", None)
    if budget and budget < 4 * report.peak_sram_bytes:
        ax1.axhline(budget / 1024, color="k", ls="--", lw=1, label=f"SRAM budget {budget / 1024:.0f} KiB")
    elif budget:
        ax1.plot([], [], " ", label=f"SRAM budget {budget / 1024:.0f} KiB (above the scale)")
    ax1.set_ylabel("SRAM (KiB)")
    ax1.set_title(f"{Path(report.blob_path).name} on {report.target} @ {report.clock_mhz:g} MHz")
    ax1.legend(fontsize=8, loc="upper right")
    ax1.grid(axis="y", alpha=0.3)
    ax2.bar(x, [r["ms"] for r in rows], color="tab:green", label="estimated latency per layer")
    ax2.set_ylabel("est. latency (ms)")
    ax2.set_title(f"total ~{report.latency_ms:.3f} ms (estimate, {report.library})", fontsize=9)
    ax2.grid(axis="y", alpha=0.3)
    step = max(1, -(-n // MAX_TICKS))
    ticks = list(range(0, n, step))
    labels = short_labels([r["layer"] for r in rows])
    ax2.set_xticks(ticks)
    ax2.set_xticklabels([f"{labels[i]} ({rows[i]['op']})" for i in ticks], rotation=90, fontsize=7)
    ax2.set_xlabel("layer (execution order)" + (f"; every {step}th labelled" if step > 1 else ""))
    fig.tight_layout()
    path = Path(path)
    from tinycnn.fileio import save_figure
    try:
        save_figure(fig, path, "plot", dpi=100)
    finally:
        plt.close(fig)
    return path
