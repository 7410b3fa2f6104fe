"""Estimated cycles per layer on a target (an ESTIMATE; derivation in docs/cycle-model.md).

The model is what a CMSIS-NN-class optimized int8 library achieves on the core (``kernels=
"cmsis-nn"``, the default) or plain C reference kernels (``kernels="naive"``, TFLM reference
style). Per layer:

    MAC ops    cycles = MACs * stall * (f_vec * cycles_per_mac[kind] + (1 - f_vec) * scalar_cycles_per_mac)
                        + outputs * requant_cycles_per_output + layer_overhead_cycles
               f_vec  = the share of the reduction (im2col row / input channels / depthwise channels)
                        that fills whole SIMD steps of ``simd_lanes`` int8 values
    binary ops cycles = bit_ops / word_bits * (popcount_cycles_per_word + 3) * stall
                        + outputs * requant_cycles_per_output + overhead   (XOR, load, accumulate = 3)
    others     per element / per pooling tap / per copied byte costs + overhead.
"""
from __future__ import annotations

import math

import numpy as np

from firmware_sim.targets import Target
from tinycnn.costs import node_macs
from tinycnn.ir import Graph, Node, Op

KERNELS = ("cmsis-nn", "naive")
BINARY_WORD_OVERHEAD = 3  # load, XOR/XNOR, accumulate per packed word
COPY_OPS = {Op.RESHAPE, Op.TRANSPOSE, Op.PAD, Op.CONCATENATION, Op.RESIZE_NEAREST}
BINARY_MAC_OPS = {Op.BINARY_CONV_2D, Op.BINARY_FULLY_CONNECTED}
POOL_OPS = {Op.MAX_POOL_2D, Op.AVERAGE_POOL_2D} | {getattr(Op, "BINARY_MAX_POOL_2D", Op.MAX_POOL_2D)}
BINARIZE = getattr(Op, "BINARIZE", None)  # int8 -> packed sign bits (compare, shift, OR per value)


def _elems(graph, name) -> int:
    return int(np.prod(graph.tensors[name].concrete_shape(1)))


def mac_kind(graph: Graph, node: Node) -> tuple:
    """(cost-table kind, reduction length that SIMD vectorizes) for int8 MAC ops."""
    w = graph.tensors[node.inputs[1]].shape
    a = node.attrs
    if node.op == Op.CONV_2D:
        if (w[1], w[2]) == (1, 1) and list(a["stride"]) == [1, 1] and not any(a["pad"]) \
                and a.get("groups", 1) == 1:
            return "conv_1x1", w[3]
        return "conv", w[1] * w[2] * w[3]
    if node.op == Op.DEPTHWISE_CONV_2D:
        three = (w[0], w[1]) == (3, 3) and list(a.get("dilation", [1, 1])) == [1, 1]
        return ("depthwise_3x3" if three else "depthwise"), w[2]
    return "fully_connected", w[1]


def vector_fraction(reduction: int, lanes: float) -> float:
    lanes = max(int(lanes), 1)
    if reduction <= 0:
        return 1.0
    return (reduction // lanes) * lanes / reduction


def node_cycles(graph: Graph, node: Node, target: Target, kernels="cmsis-nn", aliased=False) -> tuple:
    """(estimated cycles, kernel description) for one node at batch 1."""
    c = target.cost
    naive = kernels == "naive"
    out_elems = _elems(graph, node.outputs[0])
    overhead = c["layer_overhead_cycles"]
    stall = c["memory_stall_factor"]
    if node.op in (Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.FULLY_CONNECTED):
        kind, reduction = mac_kind(graph, node)
        macs = node_macs(graph, node)
        if naive:
            per_mac, what = c["naive_cycles_per_mac"], f"{kind} (naive C)"
        else:
            f = vector_fraction(reduction, c["simd_lanes"])
            per_mac = f * c[f"{kind}_cycles_per_mac"] + (1 - f) * c["scalar_cycles_per_mac"]
            what = kind if f == 1 else f"{kind}, {100 * f:.0f}% SIMD"
        return macs * per_mac * stall + out_elems * c["requant_cycles_per_output"] + overhead, what
    if node.op in BINARY_MAC_OPS:
        words = node_macs(graph, node) / c["word_bits"]
        per_word = c["popcount_cycles_per_word"] + BINARY_WORD_OVERHEAD
        return (words * per_word * stall + out_elems * c["requant_cycles_per_output"] + overhead,
                f"xnor-popcount ({c['popcount_cycles_per_word']:g} cyc/word popcount)")
    scale = 1.5 if naive else 1.0
    if node.op in POOL_OPS:
        return node_macs(graph, node) * c["pool_cycles_per_tap"] * scale + overhead, "pool"
    if node.op == Op.MEAN:
        taps = _elems(graph, node.inputs[0])
        return (taps * c["pool_cycles_per_tap"] + out_elems * c["requant_cycles_per_output"]) * scale \
            + overhead, "mean"
    if node.op in (Op.ADD, Op.SUB, Op.MUL, Op.PRELU):
        return out_elems * c["elementwise_cycles_per_element"] * scale + overhead, "elementwise"
    if node.op == BINARIZE:
        return _elems(graph, node.inputs[0]) * c["lut_cycles_per_element"] * scale + overhead, "binarize"
    if node.op == Op.LUT:
        return out_elems * c["lut_cycles_per_element"] * scale + overhead, "table lookup"
    if node.op == Op.REQUANTIZE:
        return out_elems * c["requant_cycles_per_output"] * scale + overhead, "requantize"
    if node.op == Op.SOFTMAX:
        return out_elems * c["softmax_cycles_per_element"] * scale + overhead, "softmax"
    if node.op in COPY_OPS:
        if aliased:
            return overhead, "no-op (aliased)"
        nbytes = out_elems * np.dtype(graph.tensors[node.outputs[0]].dtype).itemsize
        factor = 3 if node.op == Op.TRANSPOSE else 1  # strided gather
        return nbytes * c["copy_cycles_per_byte"] * factor * scale + overhead, "copy"
    return out_elems * c["elementwise_cycles_per_element"] * scale + overhead, "unmodeled (per element)"


def cycles_to_ms(cycles: float, clock_mhz: float) -> float:
    return cycles / (clock_mhz * 1e3)


def graph_cycles(graph: Graph, nodes: list, target: Target, kernels="cmsis-nn", aliased=()) -> list:
    """[(cycles:int, kernel description)] per node in ``nodes`` order."""
    if kernels not in KERNELS:
        from tinycnn.errors import TinyCNNError
        raise TinyCNNError(f"unknown kernel library '{kernels}'; supported: {', '.join(KERNELS)}")
    return [(int(math.ceil(cyc)), what) for cyc, what in
            (node_cycles(graph, n, target, kernels, n.outputs[0] in aliased) for n in nodes)]
