"""PNG of a simulation: per-layer live SRAM (with the arena high-water and budget) and per-layer
estimated latency."""
from __future__ import annotations

from pathlib import Path


def plot_report(report, path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report.rows
    x = range(len(rows))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(6, 0.35 * len(rows) + 3), 7), sharex=True)
    ax1.bar(x, [r["sram_live_bytes"] / 1024 for r in rows], color="tab:blue", label="live tensors + scratch")
    ax1.step(x, [r["arena_high_bytes"] / 1024 for r in rows], where="mid", color="tab:red",
             label="arena high-water")
    ax1.axhline(report.peak_sram_bytes / 1024, color="tab:red", ls=":", lw=1,
                label=f"arena {report.peak_sram_bytes / 1024:.1f} KiB")
    ax1.set_ylabel("SRAM (KiB)")
    ax1.set_title(f"{Path(report.blob_path).name} on {report.target} @ {report.clock_mhz:g} MHz")
    ax1.legend(fontsize=8)
    ax2.bar(x, [r["ms"] for r in rows], color="tab:green")
    ax2.set_ylabel("est. latency (ms)")
    ax2.set_title(f"total ~{report.latency_ms:.3f} ms (estimate, {report.library})", fontsize=9)
    ax2.set_xticks(list(x))
    ax2.set_xticklabels([f"{r['layer'][:18]} ({r['op']})" for r in rows], rotation=90, fontsize=7)
    fig.tight_layout()
    path = Path(path)
    from tinycnn.fileio import save_figure
    try:
        save_figure(fig, path, "plot", dpi=100)
    finally:
        plt.close(fig)
    return path
