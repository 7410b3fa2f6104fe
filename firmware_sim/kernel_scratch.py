"""Per-op scratch (bytes) that a kernel stack requests from TFLM's arena in Prepare.

``cmsis-nn``: the CMSIS-NN ``*_get_buffer_size`` functions TFLM's cmsis_nn kernels call
(ARM-software/CMSIS-NN Source/ConvolutionFunctions/arm_convolve_get_buffer_sizes_s8.c,
arm_depthwise_conv_get_buffer_sizes_s8.c, PoolingFunctions/arm_avgpool_get_buffer_sizes_s8.c,
FullyConnectedFunctions/arm_fully_connected_get_buffer_sizes_s8.c), per backend: "mve"
(Helium: M55), "dsp" (DSP extension: M4, M7, M33), "scalar" (M0+, M3: neither).
``tflm-reference``: TFLM's reference kernels request no scratch for the int8 ops here
(MEAN's int32 accumulators live in its OpData-sized temp only for requantizing reductions,
not modeled). ``tinycnn-c``: our runtime's scratch is already in our own arena plan.
"""
from __future__ import annotations

from tinycnn.ir import Graph, Op

CH_IN_BLOCK_MVE = 124  # arm_nnsupportfunctions.h: depthwise MVE channel block


def _conv(graph, n, backend) -> int:
    w = graph.tensors[n.inputs[1]].shape  # (Cout, KH, KW, Cin)
    a = n.attrs
    kh, kw, cin = w[1], w[2], w[3]
    pad = list(a["pad"])
    dil = list(a.get("dilation", [1, 1]))
    if (kh, kw) == (1, 1) and not any(pad) and dil == [1, 1]:
        return 0  # arm_convolve_1x1_s8_fast / the strided 1x1 kernel: no buffer
    cols = kh * kw * cin
    if backend == "mve":
        return 4 * ((cols + 15) // 16) * 16  # 4 im2col rows, whole 16-lane registers
    # off MVE, arm_convolve_1_x_n_s8 asks for the general kernel's size
    return 2 * (-(-cols // 4) * 4) * 2  # 2 int16 im2col columns, rows padded to 4


def _depthwise(graph, n, backend) -> int:
    w = graph.tensors[n.inputs[1]].shape  # (KH, KW, Cout)
    a = n.attrs
    x = graph.tensors[graph.activation_inputs(n)[0]].concrete_shape(1)
    cin, cout = x[3], w[2]
    if cout != cin or list(a.get("dilation", [1, 1])) != [1, 1]:
        return 0  # arm_depthwise_conv_s8 (generic): no buffer
    pad = list(a["pad"])
    if backend == "dsp" and (w[0], w[1]) == (3, 3) and max(pad) <= 1 and cin % 4 == 0:
        return 0  # arm_depthwise_conv_3x3_s8
    if backend == "mve":
        return 4 * CH_IN_BLOCK_MVE * w[0] * w[1]
    return cin * w[0] * w[1] * 2  # arm_depthwise_conv_s8_opt: int16 im2col of one window


def cmsis_nn_scratch(graph: Graph, backend="dsp") -> dict:
    """node name -> [scratch bytes] as TFLM's CMSIS-NN kernels request them (int8 graphs)."""
    out = {}
    for n in graph.nodes:
        acts = graph.activation_inputs(n)
        if not acts or graph.tensors[acts[0]].dtype != "int8":
            continue
        size = 0
        if n.op == Op.CONV_2D and n.attrs.get("groups", 1) == 1:
            size = _conv(graph, n, backend)
        elif n.op == Op.DEPTHWISE_CONV_2D:
            size = _depthwise(graph, n, backend)
        elif n.op == Op.AVERAGE_POOL_2D and backend == "dsp":
            size = 4 * graph.tensors[acts[0]].concrete_shape(1)[3]  # int32 sum per channel
        elif n.op == Op.FULLY_CONNECTED and backend == "mve":
            size = 4 * graph.tensors[n.inputs[1]].shape[0]  # int32 kernel sums
        if size > 0:
            out[n.name] = [size]
    return out


def stack_scratch(graph: Graph, kernels: str, backend: str) -> dict:
    """Scratch requests of a kernel stack's kernels (empty for the reference kernels)."""
    return cmsis_nn_scratch(graph, backend) if kernels == "cmsis-nn" else {}
