"""Cycles spent waiting for weights: flash wait states and where the weights live.

Each target says (top-level keys of its TOML, docs/cycle-model.md "Flash wait states"):

    weights_in         "flash"      read in place over the flash interface: every flash word
                                    fetched costs flash_wait_states extra cycles
                       "cached"     read through a data cache of cache_kib: free while all the
                                    model's weights fit the cache (steady state, repeated
                                    inference), else every cache line is a miss of
                                    cache_miss_cycles
                       "sram-copy"  copied to SRAM at boot: no stall, but the weights count in
                                    the SRAM budget
                       "zero-wait"  in memory without wait states (TCM, SSRAM, host RAM)
    flash_wait_states  wait states at the target's clock (vendor reference manual table)
    flash_word_bytes   bytes per flash access (flash line width seen by the core)
    cache_kib, cache_line_bytes, cache_miss_cycles   for "cached"

Bytes fetched per layer follow how the kernels walk the weights at batch 1: a conv / 1x1 conv
reads its whole weight matrix once per group of output pixels computed together (CMSIS-NN's
mat-mult kernels: 2 im2col columns on the DSP and pure-C paths, 4 rows on MVE), a depthwise conv
once per output pixel, a fully connected layer once.
"""
from __future__ import annotations

import math

import numpy as np

from tinycnn.ir import Op

PLACEMENTS = ("flash", "cached", "sram-copy", "zero-wait")
MEMORY_DEFAULTS = {"weights_in": "zero-wait", "flash_wait_states": 0, "flash_word_bytes": 8, "cache_kib": 0,
                   "cache_line_bytes": 32, "cache_miss_cycles": 0}
PIXELS_PER_WEIGHT_PASS = {"mve": 4, "dsp": 2, "scalar": 2}


def weight_bytes(graph, node) -> int:
    return int(sum(graph.tensors[t].data.nbytes for t in node.inputs[1:] if t and graph.tensors[t].is_const))


def model_weight_bytes(graph) -> int:
    return int(sum(t.data.nbytes for t in graph.tensors.values() if t.is_const))


def fetched_bytes(graph, node, backend) -> int:
    """Weight bytes a MAC layer reads per inference (0 for other ops)."""
    if node.op not in (Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.FULLY_CONNECTED, Op.TRANSPOSE_CONV):
        return 0
    w = weight_bytes(graph, node)
    out = graph.tensors[node.outputs[0]].concrete_shape(1)
    pixels = int(np.prod(out[1:-1])) if len(out) > 2 else 1
    if node.op == Op.FULLY_CONNECTED:
        return w
    if node.op == Op.DEPTHWISE_CONV_2D:
        return w * pixels
    return w * math.ceil(pixels / PIXELS_PER_WEIGHT_PASS.get(backend, 2))


def stall_cycles(graph, node, target, model_weights=None) -> float:
    """Extra cycles this layer waits on weight reads on ``target``."""
    m = target.memory
    place = m["weights_in"]
    if place in ("sram-copy", "zero-wait"):
        return 0.0
    nbytes = fetched_bytes(graph, node, target.cmsis_nn_backend)
    if not nbytes:
        return 0.0
    if place == "flash":
        return nbytes / m["flash_word_bytes"] * m["flash_wait_states"]
    total = model_weight_bytes(graph) if model_weights is None else model_weights
    if total <= m["cache_kib"] * 1024:
        return 0.0  # the whole model's weights stay in the cache between inferences
    return nbytes / m["cache_line_bytes"] * m["cache_miss_cycles"]


def sram_weight_bytes(graph, target) -> int:
    """Weights a "sram-copy" target keeps in SRAM (0 otherwise)."""
    return model_weight_bytes(graph) if target.memory["weights_in"] == "sram-copy" else 0


def describe(target) -> str:
    m = target.memory
    if m["weights_in"] == "flash":
        return f"weights read from flash, {m['flash_wait_states']:g} wait states per {m['flash_word_bytes']:g}-byte word"
    if m["weights_in"] == "cached":
        return (f"weights behind a {m['cache_kib']:g} KiB cache ({m['cache_miss_cycles']:g} cycles per "
                f"{m['cache_line_bytes']:g}-byte line miss)")
    if m["weights_in"] == "sram-copy":
        return "weights copied to SRAM at boot"
    return "weights in zero-wait-state memory"
