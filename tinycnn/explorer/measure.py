"""Per-candidate device and host measurements: flash, peak SRAM and simulated latency on a
firmware_sim target, and measured CPU latency on this machine.

The device numbers are firmware_sim.simulate's, computed from the loaded graph with its own
pieces (arena plan with op-order search, flash estimate, the dtype-aware cycle model: int8 /
16x8 / float32 classes, docs/cycle-model.md), so a blob is read once and a plan is searched
once per graph structure (tinycnn.explorer.session). tests/test_tradeoff_speed.py checks every
number against ``firmware_sim.simulate`` on the blob. ``sram=False`` (the sensitivity analysis
and the mixed-precision search, which use latency and flash only) skips the arena plan: the
cycle model needs only which reshape-like ops are aliases, and that does not depend on the plan.
"""
from __future__ import annotations

import time

import numpy as np

from tinycnn.ir import ALIAS_OPS, DTYPES, Graph


def _aliased(graph: Graph) -> set:
    """The outputs memory_plan's _build_blocks makes aliases: an ALIAS_OPS node whose first
    activation input has the output's byte size (the rule is first in the planner, independent
    of op order and in-place mode)."""
    def nbytes(name):
        t = graph.tensors[name]
        return int(np.prod(t.concrete_shape(1))) * np.dtype(DTYPES[t.dtype]).itemsize
    out = set()
    for n in graph.nodes:
        acts = graph.activation_inputs(n)
        if n.op in ALIAS_OPS and acts and nbytes(acts[0]) == nbytes(n.outputs[0]):
            out.add(n.outputs[0])
    return out


def device_costs(graph: Graph, blob_bytes: int, target="cortex-m4", clock_mhz=None, sram=True) -> dict:
    """flash_bytes, blob_bytes, sim_cycles, sim_latency_ms (+ peak_sram_bytes, fits_target if
    ``sram``) of a loaded blob graph, as firmware_sim.simulate(check_budget=False, run=False)."""
    from firmware_sim.cycles import graph_cycles
    from firmware_sim.simulation import flash_estimate
    from firmware_sim.targets import get_target
    from tinycnn.explorer.session import memory_plan
    tgt = get_target(target, None, clock_mhz)
    quantized = graph.tensors[graph.inputs[0]].dtype != "float32"
    d = {"blob_bytes": int(blob_bytes), "flash_bytes": int(blob_bytes) + flash_estimate(graph, tgt)}
    if sram:
        plan = memory_plan(graph, quantized)
        by_name = {n.name: n for n in graph.nodes}
        nodes = [by_name[name] for name in plan.order]
        aliased = {t for t, (_, how) in plan.shared.items() if how == "alias"}
    else:
        plan, nodes, aliased = None, list(graph.nodes), _aliased(graph)
    d["sim_cycles"] = int(sum(c for c, _ in graph_cycles(graph, nodes, tgt, "cmsis-nn", aliased)))
    d["sim_latency_ms"] = d["sim_cycles"] / (tgt.clock_mhz * 1e3)
    if sram:
        d["peak_sram_bytes"] = plan.arena_bytes
        d["fits_target"] = bool(plan.arena_bytes <= tgt.sram_bytes and d["flash_bytes"] <= tgt.flash_bytes)
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
