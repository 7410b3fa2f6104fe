"""Per-candidate device and host measurements: flash, peak SRAM and simulated latency on a
firmware_sim target, and measured CPU latency on this machine.

Every blob (int8, 16x8, 1-bit, mixed and float32) goes through ``firmware_sim.simulate``: arena
plan, flash estimate and the dtype-aware cycle model (int8 / 16x8 / float32 classes, derivation in
docs/cycle-model.md). Nothing is re-estimated here.
"""
from __future__ import annotations

import time

import numpy as np

from tinycnn.ir import Graph


def device_costs(blob_path, graph: Graph, target="cortex-m4", clock_mhz=None) -> dict:
    """flash_bytes, blob_bytes, peak_sram_bytes, sim_cycles, sim_latency_ms, fits for one blob.
    ``graph`` is the blob's graph (kept for callers; firmware_sim reads the blob itself)."""
    from firmware_sim import simulate
    from firmware_sim.targets import get_target
    tgt = get_target(target, None, clock_mhz)
    rep = simulate(blob_path, tgt, check_budget=False, run=False)
    d = {"blob_bytes": rep.blob_bytes, "flash_bytes": rep.flash_bytes,
         "peak_sram_bytes": rep.peak_sram_bytes, "sim_cycles": int(rep.cycles)}
    d["sim_latency_ms"] = d["sim_cycles"] / (tgt.clock_mhz * 1e3)
    d["fits_target"] = bool(d["peak_sram_bytes"] <= tgt.sram_bytes and d["flash_bytes"] <= tgt.flash_bytes)
    return d


def cpu_latency_ms(model, x, samples=16, repeats=3) -> float:
    """Median wall time (ms) of one-sample inference on this CPU, after a warm-up run."""
    x = x[:max(1, min(samples, len(x)))]
    model.run(x[:1])  # warm-up: plans the batch-1 buffers, loads compiled kernels
    times = []
    for _ in range(repeats):
        for i in range(len(x)):
            t0 = time.perf_counter()
            model.run(x[i:i + 1])
            times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3)
