"""Shape rules: (input shapes, attrs) -> the output shape the kernel writes (batch 1).

Every rule raises ``Invalid`` with a one-line reason when the inputs do not fit together; the
validator compares the result with the declared output shape. A spec names its rule by the
key in ``RULES``.
"""
from __future__ import annotations

import math

import numpy as np


class Invalid(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise Invalid(msg)


def words(bits: int) -> int:
    return -(-bits // 32)


def spatial(size, k, s, d, p0, p1):
    out = (size + p0 + p1 - d * (k - 1) - 1) // s + 1
    need(out >= 1, "the kernel does not fit the padded input")
    return out


def _nhwc(x, what="input"):
    need(x is not None and len(x) == 4, f"{what} must be NHWC, got {x}")
    return x


def _window(x, kh, kw, a):
    s, d, p = a["stride"], a.get("dilation", [1, 1]), a["pad"]
    return spatial(x[1], kh, s[0], d[0], p[0], p[2]), spatial(x[2], kw, s[1], d[1], p[1], p[3])


def _bias(shapes, cout):
    if len(shapes) > 2 and shapes[2] is not None:
        need(tuple(shapes[2]) == (cout,), f"bias shape {shapes[2]} != ({cout},)")


def conv(shapes, a):
    x, w = _nhwc(shapes[0]), shapes[1]
    need(len(w) == 4, f"weights must be [Cout, KH, KW, Cin/groups], got {w}")
    groups = a.get("groups", 1)
    need(x[3] == w[3] * groups and w[0] % groups == 0,
         f"weights {w} do not match input channels {x[3]} with groups {groups}")
    _bias(shapes, w[0])
    return (1, *_window(x, w[1], w[2], a), w[0])


def conv_packed(shapes, a):
    n, h, w_, cout = conv(shapes, a)
    return (n, h, w_, words(cout))


def depthwise(shapes, a):
    x, w = _nhwc(shapes[0]), shapes[1]
    need(len(w) == 3, f"weights must be [KH, KW, Cout], got {w}")
    dm = a.get("depth_multiplier", 1)
    need(w[2] == x[3] * dm, f"weights {w} do not match input channels {x[3]} x depth multiplier {dm}")
    _bias(shapes, w[2])
    return (1, *_window(x, w[0], w[1], a), w[2])


def fully_connected(shapes, a):
    x, w = shapes[0], shapes[1]
    need(len(x) >= 2 and len(w) == 2 and math.prod(x[1:]) == w[1], f"weights {w} do not match input {x}")
    _bias(shapes, w[0])
    return (1, w[0])


def pool(shapes, a):
    x = _nhwc(shapes[0])
    k = a["kernel"]
    return (1, *_window(x, k[0], k[1], {**a, "dilation": [1, 1]}), x[3])


def mean(shapes, a):
    x = _nhwc(shapes[0])
    return (1, 1, 1, x[3])


def broadcast(shapes, a):
    present = [tuple(s) for s in shapes if s is not None]
    need(len(present) == 2, f"takes two inputs, got {len(present)}")
    need(all(1 <= len(s) <= 4 for s in present), f"input ranks must be 1-4, got {present}")
    try:
        return tuple(np.broadcast_shapes(*present))
    except ValueError:
        raise Invalid(f"input shapes {present} do not broadcast") from None


def same(shapes, a):
    return tuple(shapes[0])


def concat(shapes, a):
    axis, rank = a["axis"], len(shapes[0])
    need(0 <= axis < rank, f"axis {axis} out of range for rank {rank}")
    for s in shapes:
        need(len(s) == rank and all(x == y for i, (x, y) in enumerate(zip(s, shapes[0])) if i != axis),
             f"input shapes {shapes} cannot be concatenated on axis {axis}")
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    return tuple(out)


def reshape(shapes, a):
    return None  # element count checked by the validator (the declared shape is the rule)


def transpose(shapes, a):
    perm = a["perm"]
    need(sorted(perm) == list(range(len(shapes[0]))) and perm[0] == 0,
         f"perm {perm} is not a permutation keeping the batch first")
    return tuple(shapes[0][p] for p in perm)


def pad(shapes, a):
    x, pads = shapes[0], a["pads"]
    need(len(pads) == len(x), f"pads {pads} must have one [before, after] per dimension of {x}")
    need(pads[0] == [0, 0], "the batch dimension cannot be padded")
    return tuple(d + b + e for d, (b, e) in zip(x, pads))


def resize(shapes, a):
    x = _nhwc(shapes[0])
    return (1, x[1] * a["scale"][0], x[2] * a["scale"][1], x[3])


def _bin_weights(x, w, a):
    need(len(w) == 4 and w[3] == x[3] == words(a["in_channels"]),
         f"packed weights {w} / input {x} do not hold {a['in_channels']} input channels")


def binary_conv(shapes, a):
    x, w = _nhwc(shapes[0]), shapes[1]
    _bin_weights(x, w, a)
    return (1, *_window(x, w[1], w[2], a), w[0])


def binary_conv_packed(shapes, a):
    n, h, w_, cout = binary_conv(shapes, a)
    return (n, h, w_, words(cout))


def binary_fc(shapes, a):
    x, w = shapes[0], shapes[1]
    need(len(w) == 2 and math.prod(x[1:]) == w[1] == a.get("in_pixels", 1) * words(a["in_channels"]),
         f"packed weights {w} / input {x} do not hold {a.get('in_pixels', 1)} x {a['in_channels']} bits")
    return (1, w[0])


def binary_fc_packed(shapes, a):
    return (1, words(binary_fc(shapes, a)[1]))


def binarize(shapes, a):
    x = shapes[0]
    need(2 <= len(x) <= 4, f"input rank must be 2-4, got {x}")
    return (*x[:-1], words(x[-1]))


def binary_max_pool(shapes, a):
    x = _nhwc(shapes[0])
    need(x[3] == words(a["channels"]), f"input {x} does not hold {a['channels']} packed channels")
    return pool(shapes, a)


# ---- segmentation / detection ops (tinycnn/reference/{resize_bilinear,transpose_conv,reduce,movement}.py)
def resize_bilinear(shapes, a):
    x = _nhwc(shapes[0])
    return (1, a["size"][0], a["size"][1], x[3])


def transpose_conv(shapes, a):
    x, w = _nhwc(shapes[0]), shapes[1]
    need(len(w) == 4 and w[3] == x[3], f"weights must be [Cout, KH, KW, {x[3]}], got {w}")
    _bias(shapes, w[0])
    return (1, a["output_size"][0], a["output_size"][1], w[0])


def _reduced(x, a, axes):
    need(bool(axes) and all(1 <= k < len(x) for k in axes) and sorted(axes) == list(range(min(axes), max(axes) + 1)),
         f"axes {axes!r} must be a contiguous run of non-batch axes of a rank-{len(x)} tensor")
    if a.get("keep_dims"):
        return tuple(1 if k in axes else d for k, d in enumerate(x))
    return tuple(d for k, d in enumerate(x) if k not in axes)


def reduce_mean(shapes, a):
    return _reduced(shapes[0], a, a["axes"])


def arg_reduce(shapes, a):
    return _reduced(shapes[0], a, [a["axis"]])


def depth_to_space(shapes, a):
    n, h, w, c = _nhwc(shapes[0])
    b = a["block"]
    need(c % (b * b) == 0, f"{c} channels do not split into {b}x{b} blocks")
    return (n, h * b, w * b, c // (b * b))


def space_to_depth(shapes, a):
    n, h, w, c = _nhwc(shapes[0])
    b = a["block"]
    need(h % b == 0 and w % b == 0, f"{h}x{w} is not a multiple of the block {b}")
    return (n, h // b, w // b, c * b * b)


def strided_slice(shapes, a):
    x = shapes[0]
    begin, stride, size = a["begin"], a["stride"], a["size"]
    need(all(len(v) == len(x) for v in (begin, stride, size)) and (begin[0], stride[0], size[0]) == (0, 1, -1),
         f"begin/stride/size must have {len(x)} entries and keep the batch")
    for d, b, s, k in list(zip(x, begin, stride, size))[1:]:
        need(s != 0 and k >= 1 and 0 <= b < d and 0 <= b + (k - 1) * s < d,
             f"slice begin {b} stride {s} size {k} leaves a dim of {d}")
    return (1,) + tuple(size[1:])


RULES = {f.__name__: f for f in (conv, conv_packed, depthwise, fully_connected, pool, mean, broadcast, same,
                                 concat, reshape, transpose, pad, resize, binary_conv, binary_conv_packed,
                                 binary_fc, binary_fc_packed, binarize, binary_max_pool, resize_bilinear,
                                 transpose_conv, reduce_mean, arg_reduce, depth_to_space, space_to_depth,
                                 strided_slice)}
