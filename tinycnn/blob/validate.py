"""Semantic validation of a graph read from a blob: the checks a kernel relies on but that a
checksum cannot give (a blob can be well-formed and still inconsistent: crafted, or written by a
buggy tool). Every failure is a BlobError naming the node and op.

- order: every node input is a graph input, a constant, or produced by an earlier node;
- geometry: strides and dilations >= 1, paddings >= 0, kernel shapes consistent with the input;
- shapes: each core op's output shape is recomputed from its inputs and attributes and must
  equal the declared one; per-channel parameter arrays have one entry per output channel;
  lookup tables have 256 entries;
- quantization: one scale per tensor, or one per channel along a valid axis.
Ops without a shape rule here (added by later features) are still covered by the order,
quantization and parameter-length checks.
"""
from __future__ import annotations

import numpy as np

from tinycnn.errors import BlobError
from tinycnn.ir import Graph, Op


class _Invalid(Exception):
    pass


def _need(cond, msg):
    if not cond:
        raise _Invalid(msg)


def _ints(attrs, key, n, minimum):
    v = attrs.get(key)
    _need(isinstance(v, list) and len(v) == n and all(isinstance(x, int) and x >= minimum for x in v),
          f"attribute '{key}' must be {n} integers >= {minimum}, got {v!r}")
    return v


def _spatial(size, k, s, d, p0, p1):
    out = (size + p0 + p1 - d * (k - 1) - 1) // s + 1
    _need(out >= 1, "the kernel does not fit the padded input")
    return out


def _conv(shapes, attrs, op):
    x, w = shapes[0], shapes[1]
    _need(len(x) == 4, f"input must be NHWC, got {x}")
    s, d, p = _ints(attrs, "stride", 2, 1), attrs.get("dilation", [1, 1]), _ints(attrs, "pad", 4, 0)
    _ints({"dilation": d}, "dilation", 2, 1)
    if op == Op.CONV_2D:
        _need(len(w) == 4, f"weights must be [Cout, KH, KW, Cin/groups], got {w}")
        groups = attrs.get("groups", 1)
        _need(isinstance(groups, int) and groups >= 1 and x[3] == w[3] * groups and w[0] % groups == 0,
              f"weights {w} do not match input channels {x[3]} with groups {groups}")
        kh, kw, cout = w[1], w[2], w[0]
    else:
        _need(len(w) == 3, f"weights must be [KH, KW, Cout], got {w}")
        dm = attrs.get("depth_multiplier", 1)
        _need(isinstance(dm, int) and dm >= 1 and w[2] == x[3] * dm,
              f"weights {w} do not match input channels {x[3]} x depth multiplier {dm}")
        kh, kw, cout = w[0], w[1], w[2]
    if len(shapes) > 2 and shapes[2] is not None:
        _need(tuple(shapes[2]) == (cout,), f"bias shape {shapes[2]} != ({cout},)")
    return (1, _spatial(x[1], kh, s[0], d[0], p[0], p[2]), _spatial(x[2], kw, s[1], d[1], p[1], p[3]), cout)


def _fc(shapes, attrs, op):
    x, w = shapes[0], shapes[1]
    _need(len(w) == 2 and int(np.prod(x[1:])) == w[1], f"weights {w} do not match input {x}")
    if len(shapes) > 2 and shapes[2] is not None:
        _need(tuple(shapes[2]) == (w[0],), f"bias shape {shapes[2]} != ({w[0]},)")
    return (1, w[0])


def _pool(shapes, attrs, op):
    x = shapes[0]
    _need(len(x) == 4, f"input must be NHWC, got {x}")
    k, s, p = _ints(attrs, "kernel", 2, 1), _ints(attrs, "stride", 2, 1), _ints(attrs, "pad", 4, 0)
    return (1, _spatial(x[1], k[0], s[0], 1, p[0], p[2]), _spatial(x[2], k[1], s[1], 1, p[1], p[3]), x[3])


def _mean(shapes, attrs, op):
    _need(len(shapes[0]) == 4, f"input must be NHWC, got {shapes[0]}")
    return (1, 1, 1, shapes[0][3])  # (or (1, C) without keep_dims: accepted in _check_node)


def _broadcast(shapes, attrs, op):
    try:
        return tuple(np.broadcast_shapes(*[tuple(s) for s in shapes]))
    except ValueError:
        raise _Invalid(f"input shapes {shapes} do not broadcast") from None


def _same(shapes, attrs, op):
    return tuple(shapes[0])


def _concat(shapes, attrs, op):
    axis = attrs.get("axis")
    rank = len(shapes[0])
    _need(isinstance(axis, int) and 0 <= axis < rank, f"axis {axis!r} out of range")
    for s in shapes:
        _need(len(s) == rank and all(a == b for i, (a, b) in enumerate(zip(s, shapes[0])) if i != axis),
              f"input shapes {shapes} cannot be concatenated on axis {axis}")
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    return tuple(out)


def _reshape(shapes, attrs, op):
    return None  # checked by element count in validate_graph


def _transpose(shapes, attrs, op):
    perm = attrs.get("perm")
    _need(isinstance(perm, list) and sorted(perm) == list(range(len(shapes[0]))) and perm[0] == 0,
          f"perm {perm!r} is not a permutation keeping the batch first")
    return tuple(shapes[0][p] for p in perm)


def _pad(shapes, attrs, op):
    pads = attrs.get("pads")
    x = shapes[0]
    _need(isinstance(pads, list) and len(pads) == len(x)
          and all(isinstance(p, list) and len(p) == 2 and all(isinstance(v, int) and v >= 0 for v in p) for p in pads),
          f"pads {pads!r} must be non-negative [before, after] per dimension")
    return tuple(d + a + b for d, (a, b) in zip(x, pads))


def _resize(shapes, attrs, op):
    sc = _ints(attrs, "scale", 2, 1)
    x = shapes[0]
    return (1, x[1] * sc[0], x[2] * sc[1], x[3])


SHAPE_RULES = {
    Op.CONV_2D: _conv, Op.DEPTHWISE_CONV_2D: _conv, Op.FULLY_CONNECTED: _fc,
    Op.MAX_POOL_2D: _pool, Op.AVERAGE_POOL_2D: _pool, Op.MEAN: _mean,
    Op.ADD: _broadcast, Op.SUB: _broadcast, Op.MUL: _broadcast, Op.PRELU: _broadcast,
    Op.LUT: _same, Op.REQUANTIZE: _same, Op.SOFTMAX: _same, Op.CLAMP: _same,
    Op.CONCATENATION: _concat, Op.RESHAPE: _reshape, Op.TRANSPOSE: _transpose, Op.PAD: _pad,
    Op.RESIZE_NEAREST: _resize,
}


# ---- segmentation / detection ops (tinycnn/reference/{resize_bilinear,transpose_conv,reduce,movement}.py)
def _nhwc(x):
    _need(len(x) == 4, f"input must be NHWC, got {x}")
    return x


def _resize_bilinear(shapes, attrs, op):
    x = _nhwc(shapes[0])
    size = _ints(attrs, "size", 2, 1)
    return (1, size[0], size[1], x[3])


def _transpose_conv(shapes, attrs, op):
    x, w = _nhwc(shapes[0]), shapes[1]
    _ints(attrs, "stride", 2, 1), _ints(attrs, "pad", 4, 0)
    size = _ints(attrs, "output_size", 2, 1)
    _need(len(w) == 4 and w[3] == x[3], f"weights must be [Cout, KH, KW, {x[3]}], got {w}")
    if len(shapes) > 2:
        _need(tuple(shapes[2]) == (w[0],), f"bias shape {shapes[2]} != ({w[0]},)")
    return (1, size[0], size[1], w[0])


def _reduced(shapes, attrs, axes):
    x = shapes[0]
    _need(isinstance(axes, list) and axes and all(isinstance(a, int) and 1 <= a < len(x) for a in axes)
          and sorted(axes) == list(range(min(axes), max(axes) + 1)),
          f"axes {axes!r} must be a contiguous run of non-batch axes of a rank-{len(x)} tensor")
    if attrs.get("keep_dims"):
        return tuple(1 if i in axes else d for i, d in enumerate(x))
    return tuple(d for i, d in enumerate(x) if i not in axes)


def _reduce_mean(shapes, attrs, op):
    return _reduced(shapes, attrs, attrs.get("axes"))


def _arg(shapes, attrs, op):
    return _reduced(shapes, attrs, [attrs.get("axis")])


def _depth_space(shapes, attrs, op):
    n, h, w, c = _nhwc(shapes[0])
    b = attrs.get("block")
    _need(isinstance(b, int) and b >= 1 and attrs.get("mode", "DCR") in ("DCR", "CRD"), f"bad block/mode {attrs}")
    if op == Op.DEPTH_TO_SPACE:
        _need(c % (b * b) == 0, f"{c} channels do not split into {b}x{b} blocks")
        return (n, h * b, w * b, c // (b * b))
    _need(h % b == 0 and w % b == 0, f"{h}x{w} is not a multiple of the block {b}")
    return (n, h // b, w // b, c * b * b)


def _strided_slice(shapes, attrs, op):
    x = shapes[0]
    begin, stride, size = (attrs.get(k) for k in ("begin", "stride", "size"))
    _need(all(isinstance(v, list) and len(v) == len(x) for v in (begin, stride, size))
          and (begin[0], stride[0], size[0]) == (0, 1, -1), f"begin/stride/size must have {len(x)} entries"
          " and keep the batch")
    for d, b, s, k in list(zip(x, begin, stride, size))[1:]:
        _need(isinstance(s, int) and s != 0 and isinstance(k, int) and k >= 1 and 0 <= b < d
              and 0 <= b + (k - 1) * s < d, f"slice begin {b} stride {s} size {k} leaves a dim of {d}")
    return (1,) + tuple(size[1:])


SHAPE_RULES.update({
    Op.RESIZE_BILINEAR: _resize_bilinear, Op.TRANSPOSE_CONV: _transpose_conv, Op.REDUCE_MEAN: _reduce_mean,
    Op.ARG_MAX: _arg, Op.ARG_MIN: _arg, Op.DEPTH_TO_SPACE: _depth_space, Op.SPACE_TO_DEPTH: _depth_space,
    Op.STRIDED_SLICE: _strided_slice,
})
TABLE_PARAMS = {"lut": 256, "exp_table": 256}
# prepared integer fields the default int8 kernels read (tinycnn/quant/prepare.py)
_Q = ("input_offset", "output_offset", "act_min", "act_max")
REQUIRED_INT8 = {
    Op.CONV_2D: (_Q, ("output_multiplier", "output_shift")),
    Op.DEPTHWISE_CONV_2D: (_Q, ("output_multiplier", "output_shift")),
    Op.FULLY_CONNECTED: (_Q, ("output_multiplier", "output_shift")),
    Op.ADD: (("input1_offset", "input2_offset", "output_offset", "left_shift", "input1_multiplier",
              "input1_shift", "input2_multiplier", "input2_shift", "output_multiplier", "output_shift",
              "act_min", "act_max"), ()),
    Op.MUL: (("input1_offset", "input2_offset", "output_offset", "output_multiplier", "output_shift",
              "act_min", "act_max"), ()),
    Op.MAX_POOL_2D: (("act_min", "act_max"), ()), Op.AVERAGE_POOL_2D: (("act_min", "act_max"), ()),
    Op.MEAN: (("input_offset", "output_offset", "output_multiplier", "output_shift"), ()),
    Op.LUT: ((), ("lut",)), Op.PAD: (("pad_value_q",), ()),
    Op.CONCATENATION: (("output_offset",), ("requant",)),
    Op.TRANSPOSE_CONV: (_Q, ("output_multiplier", "output_shift")),
    Op.REDUCE_MEAN: (("input_offset", "output_offset", "output_multiplier", "output_shift"), ()),
}
REQUIRED_INT8[Op.SUB] = REQUIRED_INT8[Op.ADD]
PER_CHANNEL_PARAMS = ("output_multiplier", "output_shift")


def _check_node(g, node, shape_of):
    shapes = [shape_of(i) if i else None for i in node.inputs]
    _need(node.outputs and node.inputs and shapes[0] is not None, "needs at least one input and one output")
    out = shape_of(node.outputs[0])
    rule = SHAPE_RULES.get(node.op)
    if rule is not None:
        arity = {Op.CONV_2D: (2, 3), Op.DEPTHWISE_CONV_2D: (2, 3), Op.FULLY_CONNECTED: (2, 3),
                 Op.TRANSPOSE_CONV: (3, 3)}.get(node.op)
        if arity:
            _need(arity[0] <= len(node.inputs) <= arity[1], f"takes {arity[0]}-{arity[1]} inputs")
        expected = rule([s for s in shapes if s is not None] if arity is None else shapes, node.attrs, node.op)
        if node.op == Op.RESHAPE:
            _need(int(np.prod(out)) == int(np.prod(shapes[0])), f"reshape {shapes[0]} -> {out} changes the size")
        elif node.attrs.get("output_mode") == "packed":  # 1-bit output: channels packed in words
            _need(tuple(out[:-1]) == tuple(expected[:-1]) and out[-1] == -(-expected[-1] // 32),
                  f"declared packed output {out} does not hold {expected[-1]} channels of {expected[:-1]}")
        elif node.op == Op.MEAN and tuple(out) == (1, expected[-1]):
            pass
        else:
            _need(tuple(out) == tuple(expected), f"declared output shape {out} but the op produces {expected}")
    required = REQUIRED_INT8.get(node.op)
    if (required and g.tensors[node.outputs[0]].dtype == "int8" and "kernel_variant" not in node.attrs
            and "output_mode" not in node.attrs):
        attrs, params = required
        missing = [a for a in attrs if not isinstance(node.attrs.get(a), int)] + \
                  [p for p in params if p not in node.params]
        _need(not missing, f"prepared fields missing or not integers: {', '.join(missing)}")
        if node.op in (Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.FULLY_CONNECTED, Op.TRANSPOSE_CONV):
            _need(len(node.inputs) == 3 and node.inputs[2], "an int8 weighted op needs its int32 bias")
    for key in PER_CHANNEL_PARAMS:
        if key in node.params:
            _need(node.params[key].shape == (out[-1],),
                  f"param '{key}' has shape {node.params[key].shape}, expected ({out[-1]},)")
    for key, n in TABLE_PARAMS.items():
        if key in node.params and node.op in (Op.LUT, Op.SOFTMAX):
            _need(node.params[key].shape[-1] == n, f"param '{key}' must have {n} entries")


def validate_graph(g: Graph, path) -> Graph:
    for t in g.tensors.values():
        if t.quant is not None:
            n = len(t.quant.scale)
            ok = n == 1 or (t.quant.axis is not None and 0 <= t.quant.axis < len(t.shape)
                            and n == t.shape[t.quant.axis])
            if not ok or not np.all(np.isfinite(t.quant.scale)):
                raise BlobError(f"{path}: tensor '{t.name}': {n} quantization scale(s) do not fit shape "
                                f"{list(t.shape)} (axis {t.quant.axis}) or are not finite")
    available = set(g.inputs) | {k for k, t in g.tensors.items() if t.is_const}

    def shape_of(name):
        return g.tensors[name].concrete_shape(1)

    for node in g.nodes:
        try:
            for i in node.inputs:
                _need(not i or i in available, f"reads tensor '{i}' before any node computes it")
            for o in node.outputs:
                _need(o not in available, f"writes tensor '{o}' that already has a value")
            _check_node(g, node, shape_of)
        except _Invalid as exc:
            raise BlobError(f"{path}: node '{node.name}' ({node.op.value}): {exc}") from None
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise BlobError(f"{path}: node '{node.name}' ({node.op.value}): malformed attributes ({exc})") from None
        available.update(node.outputs)
    for o in g.outputs:
        if o not in available:
            raise BlobError(f"{path}: graph output '{o}' is never computed")
    return g
