"""Estimated cycles per layer on a target (an ESTIMATE; derivation in docs/cycle-model.md).

The model is what a CMSIS-NN-class optimized int8 library achieves on the core (``kernels=
"cmsis-nn"``, the default) or plain C reference kernels (``kernels="naive"``, TFLM reference
style). Per layer:

    MAC ops    cycles = MACs * stall * (f_vec * cycles_per_mac[kind] + (1 - f_vec) * scalar_cycles_per_mac)
                        + outputs * requant_cycles_per_output + layer_overhead_cycles
                        + weight-fetch wait cycles (flash wait states / cache misses: memory_cost.py)
               f_vec  = the share of the reduction (im2col row / input channels / depthwise channels)
                        that fills whole SIMD steps of ``simd_lanes`` int8 values
    binary ops cycles = bit_ops / word_bits * (popcount_cycles_per_word + 3) * stall
                        + outputs * requant_cycles_per_output + overhead   (XOR, load, accumulate = 3)
    others     per element / per pooling tap / per copied byte costs + overhead.

Every node has a dtype class, read from its tensors' dtypes (``dtype_class``): "int8" (the
formula above), "16x8" (int16 activations x int8 weights: CMSIS-NN s16 kernels, MAC cost x
``int16x8_mac_factor`` / ``int16x8_depthwise_factor``, reduction beyond
``int16x8_int32_reduction_limit`` at the scalar rate, 64-bit requantization) or "float32"
(``float_cycles_per_mac`` per MAC: FPU or soft-float; per-element float costs).
"""
from __future__ import annotations

import math

import numpy as np

from firmware_sim.memory_cost import stall_cycles
from firmware_sim.targets import Target
from tinycnn.costs import node_macs
from tinycnn.ir import Graph, Node, Op

KERNELS = ("cmsis-nn", "tflm-reference", "naive")  # "naive" = the older name of tflm-reference;
# "tinycnn-c" (our C runtime) is costed by firmware_sim.tinycnn_c, not here
REFERENCE_KERNELS = ("tflm-reference", "naive")
BINARY_WORD_OVERHEAD = 3  # load, XOR/XNOR, accumulate per packed word
COPY_OPS = {Op.RESHAPE, Op.TRANSPOSE, Op.PAD, Op.CONCATENATION, Op.RESIZE_NEAREST,
            Op.DEPTH_TO_SPACE, Op.SPACE_TO_DEPTH, Op.STRIDED_SLICE}
# per-element work: RESIZE_BILINEAR reads 4 taps per output, REDUCE_MEAN / ARG_* one per input
TAP_OPS = {Op.RESIZE_BILINEAR: 4, Op.REDUCE_MEAN: 0, Op.ARG_MAX: 0, Op.ARG_MIN: 0}
BINARY_MAC_OPS = {Op.BINARY_CONV_2D, Op.BINARY_FULLY_CONNECTED}
POOL_OPS = {Op.MAX_POOL_2D, Op.AVERAGE_POOL_2D} | {getattr(Op, "BINARY_MAX_POOL_2D", Op.MAX_POOL_2D)}
BINARIZE = getattr(Op, "BINARIZE", None)  # int8 -> packed sign bits (compare, shift, OR per value)
MAC_OPS = {Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.FULLY_CONNECTED, Op.TRANSPOSE_CONV}
EXP_OPS = {Op.SOFTMAX, Op.SIGMOID, Op.TANH, Op.SILU}  # float: one expf (or equivalent) per element
DTYPE_CLASSES = ("int8", "16x8", "float32")


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
    if node.op == Op.TRANSPOSE_CONV:  # scatter form: a C_in dot product per tap
        return "conv", w[3]
    return "fully_connected", w[1]


def dtype_class(graph: Graph, node: Node) -> str:
    """"float32" if any activation tensor of the node is float32; "16x8" if a MAC op reads int16
    activations (or another op reads or writes int16: the ops that follow a 16x8 layer, and the
    int8 <-> int16 REQUANTIZE borders); "int8" otherwise (including 1-bit packed layers)."""
    acts = graph.activation_inputs(node)
    dtypes = {graph.tensors[t].dtype for t in acts}
    if "float32" in dtypes | {graph.tensors[node.outputs[0]].dtype}:
        return "float32"
    if node.op in MAC_OPS:
        return "16x8" if graph.tensors[acts[0]].dtype == "int16" else "int8"
    if "int16" in dtypes | {graph.tensors[o].dtype for o in node.outputs}:
        return "16x8"
    return "int8"


def vector_fraction(reduction: int, lanes: float) -> float:
    lanes = max(int(lanes), 1)
    if reduction <= 0:
        return 1.0
    return (reduction // lanes) * lanes / reduction


def node_cycles(graph: Graph, node: Node, target: Target, kernels="cmsis-nn", aliased=False) -> tuple:
    """(estimated cycles, kernel description) for one node at batch 1."""
    cls = dtype_class(graph, node)
    if cls == "float32":
        return _float_cycles(graph, node, target, kernels, aliased)
    c = target.cost
    wide = cls == "16x8"
    naive = kernels in REFERENCE_KERNELS
    out_elems = _elems(graph, node.outputs[0])
    overhead = c["layer_overhead_cycles"]
    stall = c["memory_stall_factor"]
    requant = c["int16x8_requant_cycles_per_output"] if wide else c["requant_cycles_per_output"]
    if node.op in MAC_OPS:
        kind, reduction = mac_kind(graph, node)
        macs = node_macs(graph, node)
        wait = stall_cycles(graph, node, target)  # weight reads from flash / through a cache
        if wide:
            return _int16x8_mac_cycles(c, kind, reduction, macs, naive) * stall + out_elems * requant \
                + overhead + wait, _int16x8_what(c, kind, reduction, naive)
        if naive:
            per_mac, what = c["naive_cycles_per_mac"], f"{kind} (naive C)"
        else:
            f = vector_fraction(reduction, c["simd_lanes"])
            per_mac = f * c[f"{kind}_cycles_per_mac"] + (1 - f) * c["scalar_cycles_per_mac"]
            what = kind if f == 1 else f"{kind}, {100 * f:.0f}% SIMD"
        return macs * per_mac * stall + out_elems * requant + overhead + wait, what
    if node.op in BINARY_MAC_OPS:
        words = node_macs(graph, node) / c["word_bits"]
        per_word = c["popcount_cycles_per_word"] + BINARY_WORD_OVERHEAD
        return (words * per_word * stall + out_elems * c["requant_cycles_per_output"] + overhead,
                f"xnor-popcount ({c['popcount_cycles_per_word']:g} cyc/word popcount)")
    tag = " [16x8]" if wide else ""
    scale = 1.5 if naive else 1.0
    if node.op in POOL_OPS:
        return node_macs(graph, node) * c["pool_cycles_per_tap"] * scale + overhead, "pool" + tag
    if node.op == Op.MEAN:
        taps = _elems(graph, node.inputs[0])
        return (taps * c["pool_cycles_per_tap"] + out_elems * requant) * scale + overhead, "mean" + tag
    if node.op in (Op.ADD, Op.SUB, Op.MUL, Op.PRELU):
        return out_elems * c["elementwise_cycles_per_element"] * scale + overhead, "elementwise" + tag
    if node.op == BINARIZE:
        return _elems(graph, node.inputs[0]) * c["lut_cycles_per_element"] * scale + overhead, "binarize"
    if node.op == Op.LUT:
        return out_elems * c["lut_cycles_per_element"] * scale + overhead, "table lookup" + tag
    if node.op == Op.REQUANTIZE:
        return out_elems * requant * scale + overhead, "requantize" + tag
    if node.op == Op.SOFTMAX:
        return out_elems * c["softmax_cycles_per_element"] * scale + overhead, "softmax" + tag
    if node.op in COPY_OPS:
        return _copy_cycles(graph, node, c, scale, aliased, tag)
    if node.op in TAP_OPS:
        cyc, what = _tap_cycles(graph, node, c["pool_cycles_per_tap"] * scale, out_elems * requant)
        return cyc + overhead, what + tag
    return out_elems * c["elementwise_cycles_per_element"] * scale + overhead, "unmodeled (per element)" + tag


def _tap_cycles(graph, node, per_tap, per_output):
    taps = TAP_OPS[node.op] * _elems(graph, node.outputs[0]) or _elems(graph, node.inputs[0])
    what = {Op.RESIZE_BILINEAR: "bilinear (4 taps)", Op.REDUCE_MEAN: "mean"}.get(node.op, "arg reduce")
    return taps * per_tap + (per_output if node.op in (Op.RESIZE_BILINEAR, Op.REDUCE_MEAN) else 0), what


def _copy_cycles(graph, node, c, scale, aliased, tag=""):
    if aliased:
        return c["layer_overhead_cycles"], "no-op (aliased)"
    nbytes = _elems(graph, node.outputs[0]) * np.dtype(graph.tensors[node.outputs[0]].dtype).itemsize
    factor = 3 if node.op == Op.TRANSPOSE else 1  # strided gather
    return nbytes * c["copy_cycles_per_byte"] * factor * scale + c["layer_overhead_cycles"], "copy" + tag


def _int16x8_mac_cycles(c, kind, reduction, macs, naive) -> float:
    """MAC cycles (before stalls) of a 16x8 conv / depthwise / FC layer: CMSIS-NN s16 kernels."""
    if naive or c["int16x8_reference_kernels"]:
        return macs * c["naive_cycles_per_mac"]
    if kind.startswith("depthwise"):
        # channels vectorized as for int8, each step int16 x int8
        f = vector_fraction(reduction, c["simd_lanes"])
        per_mac = (f * c[f"{kind}_cycles_per_mac"] * c["int16x8_depthwise_factor"]
                   + (1 - f) * c["scalar_cycles_per_mac"])
        return macs * per_mac
    if kind == "conv_1x1":
        kind = "conv"  # arm_convolve_wrapper_s16 has no 1x1 fast path: im2col + mat-mult kernel
    f = vector_fraction(reduction, c["simd_lanes"])
    limit = c["int16x8_int32_reduction_limit"]
    # columns beyond MAX_COL_COUNT run CMSIS-NN's scalar int64 loop
    fast = min(1.0, limit / reduction) if limit and reduction > 0 else 1.0
    f = min(f, fast)
    per_mac = f * c[f"{kind}_cycles_per_mac"] * c["int16x8_mac_factor"] + (1 - f) * c["scalar_cycles_per_mac"]
    return macs * per_mac


def _int16x8_what(c, kind, reduction, naive) -> str:
    if naive or c["int16x8_reference_kernels"]:
        return f"{kind} [16x8, reference C, int64 acc]"
    return f"{kind} [16x8]"


def _float_cycles(graph, node, target, kernels, aliased) -> tuple:
    """float32 layers: FPU (or soft-float) MACs and per-element float work."""
    c = target.cost
    naive = kernels in REFERENCE_KERNELS
    out_elems = _elems(graph, node.outputs[0])
    overhead = c["layer_overhead_cycles"]
    per_elem = c["float_cycles_per_element"]
    tag = " [float32]"
    if node.op in MAC_OPS:
        kind, _ = mac_kind(graph, node)
        per_mac = c["float_depthwise_cycles_per_mac"] if kind.startswith("depthwise") else c["float_cycles_per_mac"]
        if naive:  # reference loops add the index math of the naive int8 kernels
            per_mac += max(c["naive_cycles_per_mac"] - c["scalar_cycles_per_mac"], 0.0)
        # per output: bias add and the fused activation clamp
        return (node_macs(graph, node) * per_mac * c["memory_stall_factor"] + out_elems * per_elem
                + overhead + stall_cycles(graph, node, target), kind + tag + (" (naive C)" if naive else ""))
    scale = 1.5 if naive else 1.0
    if node.op in BINARY_MAC_OPS:  # not produced for float graphs; charge the MACs at the float rate
        return node_macs(graph, node) * c["float_cycles_per_mac"] * scale + overhead, "binary" + tag
    if node.op in POOL_OPS:
        return node_macs(graph, node) * per_elem * scale + overhead, "pool" + tag
    if node.op == Op.MEAN:
        return (_elems(graph, node.inputs[0]) + out_elems) * per_elem * scale + overhead, "mean" + tag
    if node.op in EXP_OPS:
        return out_elems * c["float_exp_cycles_per_element"] * scale + overhead, \
            ("softmax" if node.op == Op.SOFTMAX else "activation (exp)") + tag
    if node.op in COPY_OPS:
        return _copy_cycles(graph, node, c, scale, aliased, tag)
    if node.op in TAP_OPS:
        cyc, what = _tap_cycles(graph, node, per_elem * scale, out_elems * per_elem)
        return cyc + overhead, what + tag
    return out_elems * per_elem * scale + overhead, "elementwise" + tag


def cycles_to_ms(cycles: float, clock_mhz: float) -> float:
    return cycles / (clock_mhz * 1e3)


def graph_cycles(graph: Graph, nodes: list, target: Target, kernels="cmsis-nn", aliased=()) -> list:
    """[(cycles:int, kernel description)] per node in ``nodes`` order."""
    if kernels not in KERNELS:
        from tinycnn.errors import TinyCNNError
        raise TinyCNNError(f"unknown kernel library '{kernels}'; supported: {', '.join(KERNELS)}")
    return [(int(math.ceil(cyc)), what) for cyc, what in
            (node_cycles(graph, n, target, kernels, n.outputs[0] in aliased) for n in nodes)]
