"""Plain-NumPy integer implementation of every quantized op: the slow, obvious oracle the
Numba kernels are tested against (exact equality). Formulas are those of TFLite Micro's
reference kernels; see tinycnn/quant/prepare.py for the prepared fields.
"""
from __future__ import annotations

import numpy as np

from tinycnn.fixedpoint import np_multiply_by_quantized_multiplier as mbqm
from tinycnn.ir import Op
from tinycnn.reference.float_ops import extract_patches


def _finish(acc, node, out_dtype=np.int8):
    a = node.attrs
    return np.clip(acc, a["act_min"], a["act_max"]).astype(out_dtype)


def conv_2d(node, x, w, b):
    a = node.attrs
    cout, kh, kw, cig = w.shape
    groups = a.get("groups", 1)
    xs = x.astype(np.int64) + a["input_offset"]
    # padded positions contribute nothing: pad (x + input_offset) with 0
    patches = extract_patches(xs, kh, kw, a, pad_value=0)
    cog = cout // groups
    accs = [np.tensordot(patches[..., g * cig:(g + 1) * cig], w[g * cog:(g + 1) * cog].astype(np.int64),
                         axes=([3, 4, 5], [1, 2, 3])) for g in range(groups)]
    acc = np.concatenate(accs, axis=-1) + b.astype(np.int64)
    acc = mbqm(acc, node.params["output_multiplier"], node.params["output_shift"]) + a["output_offset"]
    return _finish(acc, node)


def depthwise_conv_2d(node, x, w, b):
    a = node.attrs
    kh, kw, cout = w.shape
    xs = x.astype(np.int64) + a["input_offset"]
    patches = np.repeat(extract_patches(xs, kh, kw, a, pad_value=0), a.get("depth_multiplier", 1), axis=-1)
    acc = np.einsum("nhwijc,ijc->nhwc", patches, w.astype(np.int64)) + b.astype(np.int64)
    acc = mbqm(acc, node.params["output_multiplier"], node.params["output_shift"]) + a["output_offset"]
    return _finish(acc, node)


def fully_connected(node, x, w, b):
    a = node.attrs
    xs = x.reshape(x.shape[0], -1).astype(np.int64) + a["input_offset"]
    acc = xs @ w.astype(np.int64).T + b.astype(np.int64)
    acc = mbqm(acc, node.params["output_multiplier"], node.params["output_shift"]) + a["output_offset"]
    return _finish(acc, node)


def max_pool_2d(node, x):
    kh, kw = node.attrs["kernel"]
    p = extract_patches(x.astype(np.int32), kh, kw, node.attrs, pad_value=np.iinfo(np.int32).min)
    return _finish(p.max(axis=(3, 4)), node, x.dtype)


def average_pool_2d(node, x):
    kh, kw = node.attrs["kernel"]
    s = extract_patches(x.astype(np.int64), kh, kw, node.attrs).sum(axis=(3, 4))
    count = extract_patches(np.ones(x.shape[:3] + (1,), np.int64), kh, kw, node.attrs).sum(axis=(3, 4))
    half = count // 2
    safe = np.maximum(count, 1)  # a window entirely in the padding averages to 0
    # C division truncates toward zero: round half away from zero
    avg = np.where(s > 0, (s + half) // safe, -((-s + half) // safe))
    return _finish(avg, node, x.dtype)


def mean(node, x):
    a = node.attrs
    s = x.astype(np.int64).sum(axis=(1, 2), keepdims=True) + a["input_offset"] * x.shape[1] * x.shape[2]
    y = mbqm(s, a["output_multiplier"], a["output_shift"]) + a["output_offset"]
    return np.clip(y, -128, 127).astype(np.int8)


def add_sub(node, x1, x2):
    a = node.attrs
    s1 = (x1.astype(np.int64) + a["input1_offset"]) << a["left_shift"]
    s2 = (x2.astype(np.int64) + a["input2_offset"]) << a["left_shift"]
    s1 = mbqm(s1, a["input1_multiplier"], a["input1_shift"])
    s2 = mbqm(s2, a["input2_multiplier"], a["input2_shift"])
    raw = s1 + s2 if node.op == Op.ADD else s1 - s2
    out = mbqm(raw, a["output_multiplier"], a["output_shift"]) + a["output_offset"]
    return _finish(out, node)


def mul(node, x1, x2):
    a = node.attrs
    acc = (x1.astype(np.int64) + a["input1_offset"]) * (x2.astype(np.int64) + a["input2_offset"])
    out = mbqm(acc, a["output_multiplier"], a["output_shift"]) + a["output_offset"]
    return _finish(out, node)


def prelu(node, x, alpha):
    a = node.attrs
    v = x.astype(np.int64) + a["input_offset"]
    al = alpha.astype(np.int64) + a["alpha_offset"]
    pos = mbqm(v, a["output_multiplier_1"], a["output_shift_1"])
    neg = mbqm(v * al, a["output_multiplier_2"], a["output_shift_2"])
    out = np.where(v >= 0, pos, neg) + a["output_offset"]
    return np.clip(out, -128, 127).astype(np.int8)


def lut(node, x):
    return node.params["lut"][x.astype(np.int32) + 128]


def requantize(node, x):
    a = node.attrs
    out = mbqm(x.astype(np.int64) + a["input_offset"], a["output_multiplier"], a["output_shift"])
    return np.clip(out + a["output_offset"], -128, 127).astype(np.int8)


def concatenation(node, *xs):
    parts = []
    for x, (off, m, s) in zip(xs, node.params["requant"]):
        if m == 0:
            parts.append(x)
        else:
            y = mbqm(x.astype(np.int64) + off, m, s) + node.attrs["output_offset"]
            parts.append(np.clip(y, -128, 127).astype(np.int8))
    return np.concatenate(parts, axis=node.attrs["axis"])


def pad(node, x):
    return np.pad(x, node.attrs["pads"], constant_values=node.attrs["pad_value_q"])


def softmax(node, x):
    table = node.params["exp_table"].astype(np.int64)
    d = x.max(axis=-1, keepdims=True).astype(np.int64) - x.astype(np.int64)
    e = table[d]
    total = e.sum(axis=-1, keepdims=True)
    out = (e * 512 + total) // (2 * total) - 128
    return np.clip(out, -128, 127).astype(np.int8)


def reshape(node, x):
    return x.reshape((x.shape[0],) + tuple(node.attrs["shape"][1:]))


def transpose(node, x):
    return np.transpose(x, node.attrs["perm"])


def resize_nearest(node, x):
    fh, fw = node.attrs["scale"]
    return np.repeat(np.repeat(x, fh, axis=1), fw, axis=2)


INT_OPS = {
    Op.CONV_2D: conv_2d, Op.DEPTHWISE_CONV_2D: depthwise_conv_2d, Op.FULLY_CONNECTED: fully_connected,
    Op.MAX_POOL_2D: max_pool_2d, Op.AVERAGE_POOL_2D: average_pool_2d, Op.MEAN: mean,
    Op.ADD: add_sub, Op.SUB: add_sub, Op.MUL: mul, Op.PRELU: prelu, Op.LUT: lut,
    Op.REQUANTIZE: requantize, Op.CONCATENATION: concatenation, Op.PAD: pad, Op.SOFTMAX: softmax,
    Op.RESHAPE: reshape, Op.TRANSPOSE: transpose, Op.RESIZE_NEAREST: resize_nearest,
}


from tinycnn.reference.binary_int import BINARY_INT_OPS  # noqa: E402  (1-bit ops)

INT_OPS.update(BINARY_INT_OPS)
from tinycnn.reference.tflite_ops import TFLM_INT_OPS  # noqa: E402  (TFLM-exact variants)

INT_OPS.update(TFLM_INT_OPS)
from tinycnn.reference.int16_ops import INT16X8_OPS  # noqa: E402  (16x8 variants)

INT_OPS.update(INT16X8_OPS)
from tinycnn.reference import movement as _mv  # noqa: E402  (segmentation / detection ops)
from tinycnn.reference.reduce import reduce_mean_int  # noqa: E402
from tinycnn.reference.resize_bilinear import resize_bilinear_int  # noqa: E402
from tinycnn.reference.transpose_conv import transpose_conv_int  # noqa: E402

INT_OPS.update({
    Op.RESIZE_BILINEAR: resize_bilinear_int, Op.TRANSPOSE_CONV: transpose_conv_int,
    Op.REDUCE_MEAN: reduce_mean_int, Op.ARG_MAX: _mv.arg_max, Op.ARG_MIN: _mv.arg_min,
    Op.DEPTH_TO_SPACE: _mv.depth_to_space, Op.SPACE_TO_DEPTH: _mv.space_to_depth,
    Op.STRIDED_SLICE: _mv.strided_slice,
})

from tinycnn.reference import uint8_ops as _u8  # noqa: E402  (legacy uint8 TFLite variant)

INT_OPS.update({(op, "uint8"): getattr(_u8, op.value.lower()) for op in (
    Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.FULLY_CONNECTED, Op.AVERAGE_POOL_2D)})


def run_int(graph, inputs_q: list, keep_all=False):
    """Run a quantized graph with the NumPy integer reference. inputs_q: int8 NHWC arrays."""
    values = dict(zip(graph.inputs, inputs_q))
    for node in graph.nodes:
        variant = node.attrs.get("kernel_variant")  # e.g. "tflm" (reference/tflite_ops.py)
        fn = INT_OPS.get((node.op, variant) if variant else node.op)
        if fn is None:
            raise NotImplementedError(f"no integer reference for {node.op.value}")
        args = [graph.tensors[i].data if graph.tensors[i].is_const else values[i]
                for i in node.inputs if i]
        values[node.outputs[0]] = fn(node, *args)
    return values if keep_all else [values[o] for o in graph.outputs]
