"""Per-candidate device and host measurements: flash, peak SRAM and simulated latency on a
firmware_sim target, and measured CPU latency on this machine.

Integer blobs go through ``firmware_sim.simulate`` (arena plan, flash estimate, cycle model).
Two additions live here until firmware_sim models them itself (both ESTIMATES, stated in
docs/tradeoff.md):
- 16x8 layers: firmware_sim's cycle model is dtype-blind; CMSIS-NN's s16 kernels accumulate in
  64 bits and move twice the activation bytes, so a 16x8 conv / depthwise / FC layer is
  charged ``INT16X8_CYCLE_FACTOR`` times its int8 estimate;
- float32 blobs (firmware_sim runs integer blobs only): the arena is planned by firmware_sim's
  planner on float32 buffer sizes; cycles = MACs * float_cycles_per_mac + per-element costs,
  with float_cycles_per_mac = FPU_FACTOR * the target's scalar int8 cycles per MAC on cores
  with an FPU and SOFT_FLOAT_FACTOR times it without one (Cortex-M0+).
"""
from __future__ import annotations

import os
import time

import numpy as np

from tinycnn.costs import node_macs
from tinycnn.ir import Graph, Op

INT16X8_CYCLE_FACTOR = 1.4
FPU_FACTOR = 1.5
SOFT_FLOAT_FACTOR = 8.0
WEIGHTED = (Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.FULLY_CONNECTED)


def device_costs(blob_path, graph: Graph, target="cortex-m4", clock_mhz=None) -> dict:
    """flash_bytes, blob_bytes, peak_sram_bytes, sim_cycles, sim_latency_ms, fits for one blob."""
    from firmware_sim.targets import get_target
    tgt = get_target(target, None, clock_mhz)
    if graph.tensors[graph.inputs[0]].dtype == "float32":
        d = _float_costs(blob_path, graph, tgt)
    else:
        from firmware_sim import simulate
        rep = simulate(blob_path, tgt.name, clock_mhz, check_budget=False, run=False)
        by_name = {n.name: n for n in graph.nodes}
        cycles = 0
        for row in rep.rows:
            node = by_name.get(row["layer"])
            wide = (node is not None and node.op in WEIGHTED
                    and node.attrs.get("kernel_variant") == "int16x8")
            cycles += row["cycles"] * (INT16X8_CYCLE_FACTOR if wide else 1.0)
        d = {"blob_bytes": rep.blob_bytes, "flash_bytes": rep.flash_bytes,
             "peak_sram_bytes": rep.peak_sram_bytes, "sim_cycles": int(round(cycles))}
    d["sim_latency_ms"] = d["sim_cycles"] / (tgt.clock_mhz * 1e3)
    d["fits_target"] = bool(d["peak_sram_bytes"] <= tgt.sram_bytes and d["flash_bytes"] <= tgt.flash_bytes)
    return d


def float_cycles_per_mac(tgt) -> float:
    soft = "M0" in tgt.core or "no FPU" in tgt.core
    return tgt.cost["scalar_cycles_per_mac"] * (SOFT_FLOAT_FACTOR if soft else FPU_FACTOR)


def _float_costs(blob_path, graph, tgt) -> dict:
    from firmware_sim.memory_plan import search_order
    from firmware_sim.simulation import flash_estimate
    sizes = {}
    for name in list(graph.inputs) + [n.outputs[0] for n in graph.nodes]:
        t = graph.tensors[name]
        sizes[name] = int(np.prod(t.concrete_shape(1))) * 4
    plan = search_order(graph, sizes)
    c = tgt.cost
    per_mac = float_cycles_per_mac(tgt)
    cycles = 0.0
    for node in graph.nodes:
        out_elems = int(np.prod(graph.tensors[node.outputs[0]].concrete_shape(1)))
        if node.op in WEIGHTED:
            cycles += node_macs(graph, node) * per_mac * c["memory_stall_factor"]
        else:
            cycles += out_elems * c["elementwise_cycles_per_element"] * (per_mac / c["scalar_cycles_per_mac"])
        cycles += c["layer_overhead_cycles"]
    blob_bytes = os.path.getsize(blob_path)
    return {"blob_bytes": blob_bytes, "flash_bytes": blob_bytes + flash_estimate(graph, tgt),
            "peak_sram_bytes": plan.arena_bytes, "sim_cycles": int(round(cycles))}


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
