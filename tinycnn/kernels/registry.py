"""From a prepared node to a bound kernel call.

``bind(graph, node, buffers, scratch)`` returns a no-argument callable that runs the node on
pre-allocated buffers; all argument packing (geometry arrays, broadcast views, fast-path
choice) happens here, once, at plan time. The hot loop only calls the returned closures.
Every op that has a kernel here has an oracle in tinycnn.reference.int_ops.

The dispatch table is derived from the op specs (tinycnn/opspec): a node's (op, variant) spec
names its host binder and, where it differs, its device binder (the MCU-shaped kernel whose
scratch is what a CMSIS-NN-class kernel needs, e.g. one im2col column for a general conv,
instead of the host fast paths with their large host-only GEMM buffers). Both are tested
against the same NumPy reference. Nothing registers at import time.

``scratch(shape, dtype, host_only=False)`` allocates per-node scratch; ``scratch.device`` tells
``bind`` which of the two binders the plan wants (firmware_sim plans for a device arena).
"""
from __future__ import annotations

import numpy as np

from tinycnn.ir import Op
from tinycnn.kernels import conv, conv_gemm, elementwise, lanes, pool, resample
from tinycnn.opspec import TABLE, resolve, variant_of

def as4d(a):
    """View any activation as 4-D NHWC ([N, C] -> [N, 1, 1, C])."""
    if a.ndim == 4:
        return a
    if a.ndim == 2:
        return a.reshape(a.shape[0], 1, 1, a.shape[1])
    if a.ndim == 3:
        return a.reshape(a.shape[0], 1, a.shape[1], a.shape[2])
    return a.reshape(a.shape[0], 1, 1, -1)


def _quant(a):
    return np.array([a["input_offset"], a["output_offset"], a["act_min"], a["act_max"]], np.int64)


def _i32(a):
    return np.ascontiguousarray(a, dtype=np.int32)


def bind_conv_host(graph, node, ins, out, scratch):
    """Host: the exact float32/VNNI GEMM path where it applies, else the device kernels."""
    x, w, b = ins
    a, p = node.attrs, node.params
    fast = conv_gemm.make_gemm_conv(x, w, _i32(b), _i32(p["output_multiplier"]), _i32(p["output_shift"]), a,
                                    _quant(a), out, lambda shape, dtype: scratch(shape, dtype, host_only=True))
    return fast if fast is not None else bind_conv_device(graph, node, ins, out, scratch)


def bind_conv_device(graph, node, ins, out, scratch):
    x, w, b = ins
    a, p = node.attrs, node.params
    mult, shift, q = _i32(p["output_multiplier"]), _i32(p["output_shift"]), _quant(a)
    b = _i32(b)
    kh, kw = w.shape[1:3]
    if (kh, kw) == (1, 1) and a["stride"] == [1, 1] and not any(a["pad"]) and a.get("groups", 1) == 1:
        return lambda: conv.conv_1x1_s8(x, w, b, mult, shift, q, out)
    geom = np.array(a["stride"] + a.get("dilation", [1, 1]) + a["pad"][:2] + [a.get("groups", 1)], np.int64)
    # one im2col column (an implementation detail of this kernel: TFLite Micro's reference conv
    # needs no scratch, so it is host memory, not part of the planned arena)
    col = scratch(w.shape[1] * w.shape[2] * w.shape[3], np.int32, host_only=True)
    return lambda: conv.conv_2d_s8(x, w, b, mult, shift, geom, q, col, out)


def bind_depthwise(graph, node, ins, out, scratch):
    x, w, b = ins
    a, p = node.attrs, node.params
    mult, shift, q = _i32(p["output_multiplier"]), _i32(p["output_shift"]), _quant(a)
    b = _i32(b)
    geom = np.array(a["stride"] + a.get("dilation", [1, 1]) + a["pad"][:2] + [a.get("depth_multiplier", 1)],
                    np.int64)
    # one output row of int32 accumulators (host scratch: CMSIS-NN's 3x3 depthwise needs none)
    acc = scratch((out.shape[2], w.shape[2]), np.int32, host_only=True)
    rq = lanes.requant_args(mult, shift)
    if not getattr(scratch, "device", False) and geom[6] == 1 and rq is not None and w.dtype == np.int8 \
            and lanes.acc_bound_ok(np.moveaxis(w, -1, 0), b, q[0]):  # host: int32 lanes
        return lambda: lanes.depthwise_lanes(x, w, b, mult, *rq, geom, q, acc, out)
    kernel = conv.depthwise_conv_2d_s8 if geom[6] == 1 else conv.depthwise_conv_2d_mult_s8
    return lambda: kernel(x, w, b, mult, shift, geom, q, acc, out)


def bind_fully_connected(graph, node, ins, out, scratch):
    x, w, b = ins
    a, p = node.attrs, node.params
    mult, shift, q = _i32(p["output_multiplier"]), _i32(p["output_shift"]), _quant(a)
    x2, b = x.reshape(x.shape[0], -1), _i32(b)
    host = not getattr(scratch, "device", False) and w.dtype == np.int8 and lanes.acc_bound_ok(w, b, q[0])
    b_eff = conv_gemm.folded_bias(w, b, q[0]) if host else None
    if b_eff is not None:  # host: int32 lanes over output channels (kernels/lanes.py)
        w_t, acc = np.ascontiguousarray(w.T), scratch(w.shape[0], np.int32, host_only=True)
        return lambda: lanes.fully_connected_lanes(x2, w_t, b_eff, mult, shift, q, acc, out)
    return lambda: conv.fully_connected_s8(x2, w, b, mult, shift, q, out)


def _pool_geom(a):
    return np.array(a["kernel"] + a["stride"] + a["pad"][:2], np.int64)


def bind_max_pool(graph, node, ins, out, scratch):
    g, a = _pool_geom(node.attrs), node.attrs
    return lambda: pool.max_pool_2d_s8(ins[0], g, a["act_min"], a["act_max"], out)


def bind_average_pool(graph, node, ins, out, scratch):
    g, a = _pool_geom(node.attrs), node.attrs
    return lambda: pool.average_pool_2d_s8(ins[0], g, a["act_min"], a["act_max"], out)


def bind_mean(graph, node, ins, out, scratch):
    a = node.attrs
    q = np.array([a["input_offset"], a["output_offset"], a["output_multiplier"], a["output_shift"],
                  -128, 127], np.int64)
    acc = scratch(ins[0].shape[3], np.int32)
    return lambda: pool.mean_hw(ins[0], q, acc, out)


def _broadcast_pair(x1, x2, out):
    """Zero-stride 4-D views of both operands at the output's shape."""
    return (as4d(np.broadcast_to(_align(x1, out), out.shape)),
            as4d(np.broadcast_to(_align(x2, out), out.shape)), as4d(out))


def _align(a, out):
    """Right-align ranks for NumPy broadcasting (constants may lack the batch dim)."""
    if a.ndim < out.ndim:
        a = a.reshape((1,) * (out.ndim - a.ndim) + a.shape)
    return a


def bind_add_sub(graph, node, ins, out, scratch):
    a = node.attrs
    q = np.array([a["input1_offset"], a["input2_offset"], a["output_offset"], a["left_shift"],
                  a["input1_multiplier"], a["input1_shift"], a["input2_multiplier"], a["input2_shift"],
                  a["output_multiplier"], a["output_shift"], a["act_min"], a["act_max"],
                  1 if node.op == Op.ADD else -1], np.int64)
    x1, x2, o4 = _broadcast_pair(ins[0], ins[1], out)
    return lambda: elementwise.add_sub_s8(x1, x2, q, o4)


def bind_mul(graph, node, ins, out, scratch):
    a = node.attrs
    q = np.array([a["input1_offset"], a["input2_offset"], a["output_offset"], a["output_multiplier"],
                  a["output_shift"], a["act_min"], a["act_max"]], np.int64)
    x1, x2, o4 = _broadcast_pair(ins[0], ins[1], out)
    return lambda: elementwise.mul_s8(x1, x2, q, o4)


def bind_prelu(graph, node, ins, out, scratch):
    a = node.attrs
    q = np.array([a["input_offset"], a["alpha_offset"], a["output_offset"], a["output_multiplier_1"],
                  a["output_shift_1"], a["output_multiplier_2"], a["output_shift_2"]], np.int64)
    x1, x2, o4 = _broadcast_pair(ins[0], ins[1], out)
    return lambda: elementwise.prelu_s8(x1, x2, q, o4)


def bind_lut(graph, node, ins, out, scratch):
    table = np.ascontiguousarray(node.params["lut"], np.int8)
    return lambda: elementwise.lut_s8(ins[0], table, out)


def bind_requantize(graph, node, ins, out, scratch):
    a = node.attrs
    q = np.array([a["input_offset"], a["output_offset"], a["output_multiplier"], a["output_shift"]], np.int64)
    x4, o4 = as4d(ins[0]), as4d(out)
    return lambda: elementwise.requantize_s8(x4, q, o4)


def bind_softmax(graph, node, ins, out, scratch):
    table = np.ascontiguousarray(node.params["exp_table"], np.int32)
    x2 = ins[0].reshape(-1, ins[0].shape[-1])
    o2 = out.reshape(-1, out.shape[-1])
    return lambda: elementwise.softmax_s8(x2, table, o2)


def bind_concat(graph, node, ins, out, scratch):
    axis = node.attrs["axis"]
    steps, start = [], 0
    out_offset = node.attrs["output_offset"]
    for x, (off, m, s) in zip(ins, node.params["requant"]):
        size = x.shape[axis]
        index = [slice(None)] * out.ndim
        index[axis] = slice(start, start + size)
        dst = out[tuple(index)]
        start += size
        if m == 0:
            steps.append((np.copyto, (dst, x)))
        else:
            q = np.array([off, out_offset, m, s], np.int64)
            steps.append((elementwise.requantize_s8, (as4d(x), q, as4d(dst))))

    def run():
        for fn, args in steps:
            fn(*args)
    return run


def bind_reshape(graph, node, ins, out, scratch):
    src = ins[0].reshape(out.shape)
    return lambda: np.copyto(out, src)


def bind_transpose(graph, node, ins, out, scratch):
    src = ins[0].transpose(node.attrs["perm"])
    return lambda: np.copyto(out, src)


def bind_pad(graph, node, ins, out, scratch):
    pads = node.attrs["pads"]
    inner = out[tuple(slice(b, out.shape[i] - e) for i, (b, e) in enumerate(pads))]
    value = node.attrs["pad_value_q"]

    def run():
        out.fill(value)
        np.copyto(inner, ins[0])
    return run


def bind_resize_nearest(graph, node, ins, out, scratch):
    fh, fw = node.attrs["scale"]
    n, h, w, c = ins[0].shape
    dst = out.reshape(n, h, fh, w, fw, c)
    src = ins[0][:, :, None, :, None, :]
    return lambda: np.copyto(dst, src)


# ---- segmentation / detection ops (kernels/resample.py; index views for pure data movement) ----
def bind_resize_bilinear(graph, node, ins, out, scratch):
    from tinycnn.reference.resize_bilinear import integer_coords
    a = node.attrs
    align, half = bool(a.get("align_corners")), bool(a.get("half_pixel_centers"))
    ys = integer_coords(ins[0].shape[1], out.shape[1], align, half)
    xs = integer_coords(ins[0].shape[2], out.shape[2], align, half)
    info = np.iinfo(out.dtype)
    return lambda: resample.resize_bilinear_s8(ins[0], *ys, *xs, info.min, info.max, out)


def bind_transpose_conv(graph, node, ins, out, scratch):
    x, w, b = ins
    a, p = node.attrs, node.params
    mult, shift, q = _i32(p["output_multiplier"]), _i32(p["output_shift"]), _quant(a)
    geom = np.array(a["stride"] + a["pad"][:2], np.int64)
    acc = scratch(out.shape[1:], np.int32)  # TFLM's scratch: one int32 accumulator image
    return lambda: resample.transpose_conv_s8(x, w, _i32(b), mult, shift, geom, q, acc, out)


def _outer_reduce_inner(x, axes):
    from tinycnn.reference.reduce import outer_reduce_inner
    return x.reshape(outer_reduce_inner(x.shape, axes))


def bind_reduce_mean(graph, node, ins, out, scratch):
    a = node.attrs
    x3 = _outer_reduce_inner(ins[0], a["axes"])
    q = np.array([a["input_offset"], a["output_offset"], a["output_multiplier"], a["output_shift"]], np.int64)
    o2 = out.reshape(x3.shape[0], x3.shape[2])
    return lambda: resample.reduce_mean_s8(x3, q, o2)


def bind_arg(graph, node, ins, out, scratch):
    x3 = _outer_reduce_inner(ins[0], [node.attrs["axis"]])
    o2, sign = out.reshape(x3.shape[0], x3.shape[2]), 1 if node.op == Op.ARG_MAX else -1
    return lambda: resample.arg_reduce(x3, sign, o2)


def bind_movement(graph, node, ins, out, scratch):
    from tinycnn.reference import movement as mv
    a = node.attrs
    if node.op == Op.DEPTH_TO_SPACE:
        src, dst = mv.depth_to_space_view(ins[0], out, a["block"], a.get("mode", "DCR"))
    elif node.op == Op.SPACE_TO_DEPTH:
        src, dst = mv.space_to_depth_view(ins[0], out, a["block"])
    else:
        src, dst = ins[0][mv.slice_index(a, ins[0].shape)], out
    return lambda: np.copyto(dst, src)


def bind(graph, node, ins, out, scratch):
    """The node's kernel call, bound by the binder its (op, variant) spec names."""
    spec = TABLE.get(node.op.value, variant_of(node, np.dtype(out.dtype).name))
    ref = spec.kernel.binder(bool(getattr(scratch, "device", False))) if spec is not None else None
    if ref is None:
        raise NotImplementedError(f"no integer kernel for {node.op.value} (node {node.name})")
    return resolve(ref)(graph, node, ins, out, scratch)
