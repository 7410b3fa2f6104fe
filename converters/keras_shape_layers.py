"""Keras layer handlers without weights: pooling, reshaping, merging, padding, cropping,
upsampling, and layers that vanish at inference (Dropout & co)."""
from __future__ import annotations

import numpy as np

from converters.keras_layers import pair, single_input, spatial_attrs
from tinycnn.ir import Op


def identity_layer(cx, inputs):
    return single_input(cx, inputs, (2, 4))


# ---------------------------------------------------------------- pooling
def _pool(op, one_d=False):
    def handler(cx, inputs):
        x = single_input(cx, inputs, (4,))
        if one_d:
            if not cx.is_1d(x):
                cx.fail("1-D pooling expects a (batch, steps, channels) input")
            k = pair(cx.cfg("pool_size", 2), 1)[0]
            kernel = [1, k]
            strides = [1, pair(cx.cfg("strides", k), 1)[0]]
        else:
            kernel = pair(cx.cfg("pool_size", 2))
            strides = pair(cx.cfg("strides", kernel))
        geom = spatial_attrs(cx, x, kernel, strides, [1, 1], cx.cfg("padding", "valid"))
        pt, pl, pb, pr = geom["pad"]
        if op == Op.AVERAGE_POOL_2D and (pt != pb or pl != pr) and cx.pool_backend() == "torch":
            # Keras 3's torch backend pads asymmetric 'same' pooling by replicating the edge
            # (TF and JAX exclude the padding from the average, as the IR op does)
            x = _replicate_pad(cx, x, pt, pl, pb, pr)
            geom["pad"] = [0, 0, 0, 0]
        return cx.emit(op, [x], {"kernel": kernel, "stride": geom["stride"], "pad": geom["pad"]})
    return handler


def _select(cx, x, axis, index, suffix):
    """Row (axis 1) or column (axis 2) `index` of NHWC x, as a one-hot depthwise convolution."""
    _, h, w, c = cx.shape(x)
    size = h if axis == 1 else w
    kernel = np.zeros((size, 1, c) if axis == 1 else (1, size, c), np.float32)
    kernel[(index, 0) if axis == 1 else (0, index)] = 1.0
    return cx.emit(Op.DEPTHWISE_CONV_2D, [x, cx.const(suffix, kernel)],
                   {"stride": [1, 1], "dilation": [1, 1], "pad": [0, 0, 0, 0],
                    "depth_multiplier": 1}, suffix=suffix)


def _replicate_pad(cx, x, pt, pl, pb, pr):
    for axis, before, after in ((1, pt, pb), (2, pl, pr)):
        parts, size = [x], cx.shape(x)[axis]
        for side, count, index in (("before", before, 0), ("after", after, size - 1)):
            if count:
                edge = _select(cx, x, axis, index, f"edge{axis}_{side}")
                if count > 1:
                    scale = [count, 1] if axis == 1 else [1, count]
                    edge = cx.emit(Op.RESIZE_NEAREST, [edge], {"scale": scale},
                                   suffix=f"edge{axis}_{side}_rep")
                parts.insert(0 if side == "before" else len(parts), edge)
        if len(parts) > 1:
            x = cx.emit(Op.CONCATENATION, parts, {"axis": axis}, suffix=f"replicate{axis}")
    return x


def _global_pool(op, one_d=False):
    def handler(cx, inputs):
        x = single_input(cx, inputs, (4,))
        if one_d and not cx.is_1d(x):
            cx.fail("1-D global pooling expects a (batch, steps, channels) input")
        _, h, w, c = cx.shape(x)
        keep = bool(cx.cfg("keepdims", False))
        suffix = None if keep else "pool"
        if op == Op.MEAN:
            y = cx.emit(Op.MEAN, [x], {"axes": [1, 2]}, suffix=suffix)
        else:
            y = cx.emit(Op.MAX_POOL_2D, [x], {"kernel": [h, w], "stride": [1, 1],
                                              "pad": [0, 0, 0, 0]}, suffix=suffix)
        if keep:
            return y
        return cx.emit(Op.RESHAPE, [y], {"shape": [-1, c]})
    return handler


# ---------------------------------------------------------------- reshaping
def flatten_layer(cx, inputs):
    x = single_input(cx, inputs, (2, 4))
    shape = cx.shape(x)
    if len(shape) == 2:
        return x
    return cx.emit(Op.RESHAPE, [x], {"shape": [-1, int(np.prod(shape[1:]))]})


def reshape_layer(cx, inputs):
    x = single_input(cx, inputs, (2, 4))
    total = int(np.prod(cx.shape(x)[1:]))
    target = [int(t) for t in cx.cfg("target_shape")]
    if target.count(-1) == 1:
        known = int(np.prod([t for t in target if t != -1]))
        target[target.index(-1)] = total // max(known, 1)
    if int(np.prod(target)) != total:
        cx.fail(f"cannot reshape {total} values to {target}")
    if len(target) == 1:
        return cx.emit(Op.RESHAPE, [x], {"shape": [-1] + target})
    if len(target) == 2:  # (L, C) -> NHWC (1, L, C)
        return cx.mark_1d(cx.emit(Op.RESHAPE, [x], {"shape": [-1, 1] + target}))
    if len(target) == 3:
        y = cx.emit(Op.RESHAPE, [x], {"shape": [-1] + target})
        cx.im.one_d.discard(y)
        return y
    cx.fail(f"Reshape to rank {len(target) + 1} is not supported (ranks 2, 3, 4)")


# ---------------------------------------------------------------- merging
def _merge(op):
    def handler(cx, inputs):
        if len(inputs) < 2 or (op == Op.SUB and len(inputs) != 2):
            cx.fail(f"expected {'two' if op == Op.SUB else 'two or more'} inputs, got {len(inputs)}")
        y = inputs[0]
        for i, other in enumerate(inputs[1:]):
            last = i == len(inputs) - 2
            y = cx.emit(op, [y, other], suffix=None if last else f"{i}")
        return y
    return handler


def concatenate_layer(cx, inputs):
    if len(inputs) < 2:
        cx.fail(f"expected two or more inputs, got {len(inputs)}")
    rank = len(cx.shape(inputs[0]))
    axis = int(cx.cfg("axis", -1))
    if any(cx.is_1d(x) for x in inputs):
        axis = {-1: 3, 2: 3, 1: 2, -2: 2}.get(axis)
    else:
        axis = axis % rank
    if not axis:
        cx.fail("concatenation along the batch axis is not supported")
    return cx.emit(Op.CONCATENATION, list(inputs), {"axis": axis})


# ---------------------------------------------------------------- padding / cropping / resizing
def _pairs(value, n):
    """Keras padding/cropping spec -> [[before, after]] * n."""
    if isinstance(value, int):
        return [[value, value]] * n
    value = list(value)
    if n == 1 and len(value) == 2 and all(isinstance(v, int) for v in value):
        return [[int(value[0]), int(value[1])]]
    out = []
    for v in value:
        out.append([int(v), int(v)] if isinstance(v, int) else [int(v[0]), int(v[1])])
    return out


def _spatial_pairs(cx, x, key, one_d):
    if one_d:
        if not cx.is_1d(x):
            cx.fail("1-D layer expects a (batch, steps, channels) input")
        return [[0, 0]] + _pairs(cx.cfg(key, 1), 1)
    return _pairs(cx.cfg(key, 1), 2)


def _zero_padding(one_d):
    def handler(cx, inputs):
        x = single_input(cx, inputs, (4,))
        (pt, pb), (pl, pr) = _spatial_pairs(cx, x, "padding", one_d)
        return cx.emit(Op.PAD, [x], {"pads": [[0, 0], [pt, pb], [pl, pr], [0, 0]], "value": 0.0})
    return handler


def _cropping(one_d):
    def handler(cx, inputs):
        """Cropping as a depthwise convolution whose one-hot kernel picks pixel (top, left) of
        each (top+bottom+1) x (left+right+1) window: exact in float and int8."""
        x = single_input(cx, inputs, (4,))
        (ct, cb), (cl, cr) = _spatial_pairs(cx, x, "cropping", one_d)
        if (ct, cb, cl, cr) == (0, 0, 0, 0):
            return x
        c = cx.shape(x)[3]
        kernel = np.zeros((ct + cb + 1, cl + cr + 1, c), np.float32)
        kernel[ct, cl, :] = 1.0
        return cx.emit(Op.DEPTHWISE_CONV_2D, [x, cx.const("select", kernel)],
                       {"stride": [1, 1], "dilation": [1, 1], "pad": [0, 0, 0, 0],
                        "depth_multiplier": 1})
    return handler


def _upsampling(one_d):
    def handler(cx, inputs):
        x = single_input(cx, inputs, (4,))
        if str(cx.cfg("interpolation", "nearest")) != "nearest":
            cx.fail(f"interpolation '{cx.cfg('interpolation')}' is not supported (only nearest)")
        if one_d:
            if not cx.is_1d(x):
                cx.fail("UpSampling1D expects a (batch, steps, channels) input")
            scale = [1, pair(cx.cfg("size", 2), 1)[0]]
        else:
            scale = pair(cx.cfg("size", 2))
        return cx.emit(Op.RESIZE_NEAREST, [x], {"scale": scale})
    return handler


max_pool2d = _pool(Op.MAX_POOL_2D)
avg_pool2d = _pool(Op.AVERAGE_POOL_2D)
max_pool1d = _pool(Op.MAX_POOL_2D, one_d=True)
avg_pool1d = _pool(Op.AVERAGE_POOL_2D, one_d=True)
global_avg_pool2d = _global_pool(Op.MEAN)
global_max_pool2d = _global_pool(Op.MAX_POOL_2D)
global_avg_pool1d = _global_pool(Op.MEAN, one_d=True)
global_max_pool1d = _global_pool(Op.MAX_POOL_2D, one_d=True)
add_layer, subtract_layer, multiply_layer = _merge(Op.ADD), _merge(Op.SUB), _merge(Op.MUL)
zero_padding2d, zero_padding1d = _zero_padding(False), _zero_padding(True)
cropping2d, cropping1d = _cropping(False), _cropping(True)
upsampling2d, upsampling1d = _upsampling(False), _upsampling(True)
