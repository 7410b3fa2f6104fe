"""Plain-NumPy float implementation of every IR op: the float oracle.

Used to check importers against the source framework (ONNX Runtime, Keras), and by the
calibrator to record activation ranges. One small function per op, no cleverness.
"""
from __future__ import annotations

import numpy as np

from tinycnn.ir import Graph, Node, Op


def conv_output_size(size, kernel, stride, dilation, pad_before, pad_after):
    return (size + pad_before + pad_after - dilation * (kernel - 1) - 1) // stride + 1


def extract_patches(x, kh, kw, attrs, pad_value=0.0):
    """x: [N,H,W,C] -> patches [N,OH,OW,KH,KW,C] (padding with pad_value)."""
    sh, sw = attrs["stride"]
    dh, dw = attrs.get("dilation", [1, 1])
    pt, pl, pb, pr = attrs["pad"]
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=pad_value)
    n, h, w, c = xp.shape
    oh = (h - dh * (kh - 1) - 1) // sh + 1
    ow = (w - dw * (kw - 1) - 1) // sw + 1
    s = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp, (n, oh, ow, kh, kw, c), (s[0], s[1] * sh, s[2] * sw, s[1] * dh, s[2] * dw, s[3]),
        writeable=False)


def clamp(y, attrs):
    lo, hi = attrs.get("clamp") or (None, None)
    if lo is not None or hi is not None:
        y = np.clip(y, -np.inf if lo is None else lo, np.inf if hi is None else hi)
    return y


def conv_2d(node, x, w, b=None):
    cout, kh, kw, cig = w.shape
    groups = node.attrs.get("groups", 1)
    patches = extract_patches(x.astype(np.float64), kh, kw, node.attrs)
    outs = []
    cog = cout // groups
    for g in range(groups):
        p = patches[..., g * cig:(g + 1) * cig]
        wg = w[g * cog:(g + 1) * cog].astype(np.float64)
        outs.append(np.tensordot(p, wg, axes=([3, 4, 5], [1, 2, 3])))
    y = np.concatenate(outs, axis=-1)
    if b is not None:
        y = y + b
    return clamp(y, node.attrs).astype(np.float32)


def depthwise_conv_2d(node, x, w, b=None):
    kh, kw, cout = w.shape
    mult = node.attrs.get("depth_multiplier", 1)
    patches = extract_patches(x.astype(np.float64), kh, kw, node.attrs)
    patches = np.repeat(patches, mult, axis=-1)  # channel c*mult+m reads input channel c
    y = np.einsum("nhwijc,ijc->nhwc", patches, w.astype(np.float64))
    if b is not None:
        y = y + b
    return clamp(y, node.attrs).astype(np.float32)


def fully_connected(node, x, w, b=None):
    y = x.reshape(x.shape[0], -1).astype(np.float64) @ w.astype(np.float64).T
    if b is not None:
        y = y + b
    return clamp(y, node.attrs).astype(np.float32)


def max_pool_2d(node, x):
    kh, kw = node.attrs["kernel"]
    p = extract_patches(x, kh, kw, node.attrs, pad_value=-np.inf)
    return clamp(p.max(axis=(3, 4)), node.attrs).astype(np.float32)


def average_pool_2d(node, x):
    """Padding is excluded from the count (TFLite semantics; importers pad explicitly
    when the source counts padding)."""
    kh, kw = node.attrs["kernel"]
    p = extract_patches(x.astype(np.float64), kh, kw, node.attrs)
    ones = extract_patches(np.ones(x.shape[:3] + (1,)), kh, kw, node.attrs)
    y = p.sum(axis=(3, 4)) / ones.sum(axis=(3, 4))
    return clamp(y, node.attrs).astype(np.float32)


def mean(node, x):
    return x.astype(np.float64).mean(axis=(1, 2), keepdims=True).astype(np.float32)


def _binary(fn):
    def op(node, a, b):
        return clamp(fn(a.astype(np.float32), b.astype(np.float32)), node.attrs).astype(np.float32)
    return op


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def unary(node, x):
    x = x.astype(np.float32)
    a = node.attrs
    op = node.op
    if op == Op.CLAMP:
        y = x
    elif op == Op.LEAKY_RELU:
        y = np.where(x >= 0, x, x * np.float32(a["alpha"]))
    elif op == Op.SIGMOID:
        y = _sigmoid(x)
    elif op == Op.TANH:
        y = np.tanh(x)
    elif op == Op.HARD_SIGMOID:
        y = np.clip(x * np.float32(a["alpha"]) + np.float32(a["beta"]), 0, 1)
    elif op == Op.HARD_SWISH:
        y = x * np.clip(x + 3.0, 0, 6) / 6.0
    elif op == Op.SILU:
        y = x * _sigmoid(x)
    elif op == Op.SIGN:
        y = np.where(x < 0, np.float32(-1), np.float32(1))
    else:
        raise NotImplementedError(op)
    return clamp(y, a).astype(np.float32)


def prelu(node, x, slope):
    return np.where(x >= 0, x, x * slope).astype(np.float32)


def concatenation(node, *xs):
    return np.concatenate(xs, axis=node.attrs["axis"])


def reshape(node, x):
    return x.reshape((x.shape[0],) + tuple(node.attrs["shape"][1:]))


def transpose(node, x):
    return np.transpose(x, node.attrs["perm"])


def pad(node, x):
    return np.pad(x, node.attrs["pads"], constant_values=node.attrs.get("value", 0.0))


def resize_nearest(node, x):
    fh, fw = node.attrs["scale"]
    return np.repeat(np.repeat(x, fh, axis=1), fw, axis=2)


def softmax(node, x):
    beta = node.attrs.get("beta", 1.0)
    z = (x.astype(np.float64) - x.max(axis=-1, keepdims=True)) * beta
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def batch_norm(node, x, scale, bias):
    """Transient op: y = x * scale + bias per channel (scale/bias pre-folded by the importer)."""
    return (x * scale + bias).astype(np.float32)


def binary_conv_2d(node, x, w, b=None):  # float semantics of a binarized conv
    from tinycnn.reference.binary_float import binary_conv_2d_float
    return binary_conv_2d_float(node, x, w, b)


def binary_fully_connected(node, x, w, b=None):
    from tinycnn.reference.binary_float import binary_fully_connected_float
    return binary_fully_connected_float(node, x, w, b)


def _binary_float():
    from tinycnn.reference import binary_float
    return binary_float


FLOAT_OPS = {
    Op.CONV_2D: conv_2d, Op.DEPTHWISE_CONV_2D: depthwise_conv_2d, Op.FULLY_CONNECTED: fully_connected,
    Op.MAX_POOL_2D: max_pool_2d, Op.AVERAGE_POOL_2D: average_pool_2d, Op.MEAN: mean,
    Op.ADD: _binary(np.add), Op.SUB: _binary(np.subtract), Op.MUL: _binary(np.multiply),
    Op.PRELU: prelu, Op.CONCATENATION: concatenation, Op.RESHAPE: reshape, Op.TRANSPOSE: transpose,
    Op.PAD: pad, Op.RESIZE_NEAREST: resize_nearest, Op.SOFTMAX: softmax, Op.BATCH_NORM: batch_norm,
    Op.BINARY_CONV_2D: binary_conv_2d, Op.BINARY_FULLY_CONNECTED: binary_fully_connected,
    Op.BINARIZE: lambda node, x: _binary_float().binarize_float(node, x),
    Op.BINARY_MAX_POOL_2D: lambda node, x: _binary_float().binary_max_pool_2d_float(node, x),
    **{op: unary for op in (Op.CLAMP, Op.LEAKY_RELU, Op.SIGMOID, Op.TANH, Op.HARD_SIGMOID,
                            Op.HARD_SWISH, Op.SILU, Op.SIGN)},
}


def run_node_float(graph: Graph, node: Node, values: dict) -> list:
    args = [None if not i else (graph.tensors[i].data if graph.tensors[i].is_const else values[i])
            for i in node.inputs]
    fn = FLOAT_OPS.get(node.op)
    if fn is None:
        raise NotImplementedError(f"no float reference for {node.op.value} (node {node.name})")
    out = fn(node, *args)
    return [out]


def run_float(graph: Graph, inputs: list, keep_all: bool = False, observer=None) -> dict | list:
    """Run a float graph on NHWC inputs. Returns the outputs (or every tensor if keep_all).

    ``observer(tensor_name, value)`` is called for every activation (used by calibration)."""
    values = {name: np.asarray(x, np.float32) for name, x in zip(graph.inputs, inputs)}
    if observer:
        for name in graph.inputs:
            observer(name, values[name])
    remaining = _last_uses(graph) if not keep_all else None
    for idx, node in enumerate(graph.nodes):
        outs = run_node_float(graph, node, values)
        for name, v in zip(node.outputs, outs):
            values[name] = v
            if observer:
                observer(name, v)
        if remaining is not None:
            for name in remaining.get(idx, ()):
                values.pop(name, None)
    if keep_all:
        return values
    return [values[o] for o in graph.outputs]


def _last_uses(graph: Graph) -> dict:
    last = {}
    for idx, node in enumerate(graph.nodes):
        for i in node.inputs:
            if i and not graph.tensors[i].is_const:
                last[i] = idx
    keep = set(graph.outputs)
    by_node = {}
    for name, idx in last.items():
        if name not in keep:
            by_node.setdefault(idx, []).append(name)
    return by_node


# ---- segmentation / detection ops (one module each; registered here) ----
from tinycnn.reference import movement as _mv  # noqa: E402
from tinycnn.reference.reduce import reduce_mean as _reduce_mean  # noqa: E402
from tinycnn.reference.resize_bilinear import resize_bilinear as _resize_bilinear  # noqa: E402
from tinycnn.reference.transpose_conv import transpose_conv as _transpose_conv  # noqa: E402

FLOAT_OPS.update({
    Op.RESIZE_BILINEAR: _resize_bilinear, Op.TRANSPOSE_CONV: _transpose_conv, Op.REDUCE_MEAN: _reduce_mean,
    Op.ARG_MAX: _mv.arg_max, Op.ARG_MIN: _mv.arg_min, Op.DEPTH_TO_SPACE: _mv.depth_to_space,
    Op.SPACE_TO_DEPTH: _mv.space_to_depth, Op.STRIDED_SLICE: _mv.strided_slice,
})
