"""Keras layer handlers with weights or activations: convolutions, Dense, normalizations,
activation layers. One small function per Keras class; see keras_graph.LayerContext."""
from __future__ import annotations

import numpy as np

from converters.builder import same_padding
from tinycnn.ir import Op


def pair(value, n=2) -> list:
    if isinstance(value, (list, tuple)):
        return [int(v) for v in value] if len(value) == n else [int(value[0])] * n
    return [int(value)] * n


def single_input(cx, inputs, ranks=(2, 4)):
    if len(inputs) != 1:
        cx.fail(f"expected one input, got {len(inputs)}")
    x = inputs[0]
    if len(cx.shape(x)) not in ranks:
        cx.fail(f"input of shape {cx.shape(x)} is not supported here (expected rank "
                f"{' or '.join(str(r) for r in ranks)} NHWC / [N, C])")
    return x


def spatial_attrs(cx, x, kernel, strides, dilation, padding) -> dict:
    """stride / dilation / pad (t, l, b, r) for a window op on NHWC x (TF 'same' padding)."""
    _, h, w, _ = cx.shape(x)
    padding = str(padding).lower()
    if padding == "valid":
        pad = [0, 0, 0, 0]
    elif padding == "same":
        pt, pb = same_padding(h, kernel[0], strides[0], dilation[0])
        pl, pr = same_padding(w, kernel[1], strides[1], dilation[1])
        pad = [pt, pl, pb, pr]
    elif padding == "causal" and cx.is_1d(x):
        pad = [0, dilation[1] * (kernel[1] - 1), 0, 0]
    else:
        cx.fail(f"padding '{padding}' is not supported (valid, same; causal for 1-D)")
    return {"stride": list(strides), "dilation": list(dilation), "pad": pad}


# ---------------------------------------------------------------- activations
def activation_name(act):
    if act is None:
        return "linear"
    if isinstance(act, dict):  # Keras 3 may serialize {"class_name": "function", "config": "relu"}
        inner = act.get("config")
        if isinstance(inner, str):
            return inner
        return act.get("registered_name") or act.get("class_name") or "?"
    return str(act)


def apply_activation(cx, x, act, suffix="act"):
    """Apply a Keras activation (a name or its serialized form) to IR tensor x."""
    name = activation_name(act).split(">")[-1]
    if name in ("linear", "identity"):
        return x
    if name == "relu":
        return cx.emit(Op.CLAMP, [x], {"clamp": [0.0, None]}, suffix=suffix)
    if name == "relu6":
        return cx.emit(Op.CLAMP, [x], {"clamp": [0.0, 6.0]}, suffix=suffix)
    if name == "softmax":
        return cx.emit(Op.SOFTMAX, [x], {"beta": 1.0}, suffix=suffix)
    if name == "hard_sigmoid":
        # Keras 3: relu6(x + 3) / 6; Keras 2: clip(0.2 x + 0.5, 0, 1)
        alpha = 1.0 / 6.0 if cx.keras_major >= 3 else 0.2
        return cx.emit(Op.HARD_SIGMOID, [x], {"alpha": alpha, "beta": 0.5}, suffix=suffix)
    if name == "leaky_relu":
        return cx.emit(Op.LEAKY_RELU, [x], {"alpha": 0.2}, suffix=suffix)
    simple = {"sigmoid": Op.SIGMOID, "tanh": Op.TANH, "hard_swish": Op.HARD_SWISH,
              "hard_silu": Op.HARD_SWISH, "swish": Op.SILU, "silu": Op.SILU}
    if name in simple:
        return cx.emit(simple[name], [x], suffix=suffix)
    cx.fail(f"activation '{name}' is not supported", supported=ACTIVATIONS)


ACTIVATIONS = ["linear", "relu", "relu6", "sigmoid", "tanh", "softmax", "hard_sigmoid",
               "hard_swish", "hard_silu", "swish", "silu", "leaky_relu"]


def activation_layer(cx, inputs):
    return apply_activation(cx, single_input(cx, inputs, (2, 4)), cx.cfg("activation"), suffix=None)


def relu_layer(cx, inputs):
    x = single_input(cx, inputs, (2, 4))
    max_value = cx.cfg("max_value")
    slope = float(cx.cfg("negative_slope", 0.0))
    if float(cx.cfg("threshold", 0.0)) != 0.0:
        cx.fail("ReLU with a non-zero threshold is not supported")
    if slope == 0.0:
        return cx.emit(Op.CLAMP, [x], {"clamp": [0.0, None if max_value is None else float(max_value)]})
    y = cx.emit(Op.LEAKY_RELU, [x], {"alpha": slope},
                suffix="leaky" if max_value is not None else None)
    if max_value is not None:
        y = cx.emit(Op.CLAMP, [y], {"clamp": [None, float(max_value)]})
    return y


def leaky_relu_layer(cx, inputs):
    x = single_input(cx, inputs, (2, 4))
    slope = cx.config.get("negative_slope", cx.config.get("alpha", 0.3))
    return cx.emit(Op.LEAKY_RELU, [x], {"alpha": float(slope)})


def prelu_layer(cx, inputs):
    x = single_input(cx, inputs, (2, 4))
    shape = cx.shape(x)
    alpha = cx.weights(["alpha"])["alpha"]
    c = shape[-1]
    if alpha.size != c or alpha.shape[-1] != c:
        cx.fail(f"PReLU slope of shape {alpha.shape} is not per-channel; use shared_axes over "
                "all spatial axes (e.g. shared_axes=[1, 2])")
    return cx.emit(Op.PRELU, [x, cx.const("alpha", alpha.reshape(c))])


def softmax_layer(cx, inputs):
    x = single_input(cx, inputs, (2, 4))
    axis = cx.cfg("axis", -1)
    axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
    if axis not in (-1, len(cx.shape(x)) - 1):
        cx.fail(f"Softmax over axis {axis} is not supported (only the last axis)")
    return cx.emit(Op.SOFTMAX, [x], {"beta": 1.0})


# ---------------------------------------------------------------- convolutions
def _conv_common(cx, x, kernel_size):
    kernel = pair(cx.cfg("kernel_size", kernel_size))
    strides = pair(cx.cfg("strides", 1))
    dilation = pair(cx.cfg("dilation_rate", 1))
    return kernel, spatial_attrs(cx, x, kernel, strides, dilation, cx.cfg("padding", "valid"))


def conv2d_layer(cx, inputs):
    x = single_input(cx, inputs, (4,))
    kernel, geom = _conv_common(cx, x, 1)
    return _conv(cx, x, kernel, geom)


def conv1d_layer(cx, inputs):
    x = single_input(cx, inputs, (4,))
    if not cx.is_1d(x):
        cx.fail("Conv1D expects a (batch, steps, channels) input")
    k = pair(cx.cfg("kernel_size"), 1)[0]
    strides = [1, pair(cx.cfg("strides", 1), 1)[0]]
    dilation = [1, pair(cx.cfg("dilation_rate", 1), 1)[0]]
    geom = spatial_attrs(cx, x, [1, k], strides, dilation, cx.cfg("padding", "valid"))
    return _conv(cx, x, [1, k], geom, kernel_rank=3)


def _conv(cx, x, kernel, geom, kernel_rank=4):
    filters = int(cx.cfg("filters"))
    groups = int(cx.cfg("groups", 1))
    cin = cx.shape(x)[3]
    if cin % groups:
        cx.fail(f"groups={groups} does not divide the {cin} input channels")
    use_bias = bool(cx.cfg("use_bias", True))
    kshape = (kernel[0], kernel[1], cin // groups, filters)
    if kernel_rank == 3:
        kshape = kshape[1:]
    w = cx.weights(["kernel"] + (["bias"] if use_bias else []),
                   {"kernel": kshape, "bias": (filters,)})
    wk = w["kernel"].reshape(kernel[0], kernel[1], cin // groups, filters).transpose(3, 0, 1, 2)
    ins = [x, cx.const("kernel", wk)] + ([cx.const("bias", w["bias"])] if use_bias else [])
    y = cx.emit(Op.CONV_2D, ins, {**geom, "groups": groups})
    return cx.activation(y, cx.cfg("activation"))


def depthwise_conv2d_layer(cx, inputs):
    x = single_input(cx, inputs, (4,))
    kernel, geom = _conv_common(cx, x, 1)
    mult = int(cx.cfg("depth_multiplier", 1))
    cin = cx.shape(x)[3]
    use_bias = bool(cx.cfg("use_bias", True))
    w = cx.weights([("kernel", "depthwise_kernel")] + (["bias"] if use_bias else []),
                   {"kernel": (kernel[0], kernel[1], cin, mult), "bias": (cin * mult,)})
    wd = w["kernel"].reshape(kernel[0], kernel[1], cin * mult)  # channel c*mult+m
    ins = [x, cx.const("kernel", wd)] + ([cx.const("bias", w["bias"])] if use_bias else [])
    y = cx.emit(Op.DEPTHWISE_CONV_2D, ins, {**geom, "depth_multiplier": mult})
    return cx.activation(y, cx.cfg("activation"))


def separable_conv2d_layer(cx, inputs):
    x = single_input(cx, inputs, (4,))
    kernel, geom = _conv_common(cx, x, 1)
    mult = int(cx.cfg("depth_multiplier", 1))
    filters = int(cx.cfg("filters"))
    cin = cx.shape(x)[3]
    use_bias = bool(cx.cfg("use_bias", True))
    w = cx.weights(["depthwise_kernel", "pointwise_kernel"] + (["bias"] if use_bias else []),
                   {"depthwise_kernel": (kernel[0], kernel[1], cin, mult),
                    "pointwise_kernel": (1, 1, cin * mult, filters), "bias": (filters,)})
    wd = w["depthwise_kernel"].reshape(kernel[0], kernel[1], cin * mult)
    d = cx.emit(Op.DEPTHWISE_CONV_2D, [x, cx.const("depthwise_kernel", wd)],
                {**geom, "depth_multiplier": mult}, suffix="depthwise")
    wp = w["pointwise_kernel"].reshape(cin * mult, filters).T.reshape(filters, 1, 1, cin * mult)
    ins = [d, cx.const("pointwise_kernel", wp)] + ([cx.const("bias", w["bias"])] if use_bias else [])
    y = cx.emit(Op.CONV_2D, ins, {"stride": [1, 1], "dilation": [1, 1], "pad": [0, 0, 0, 0],
                                  "groups": 1})
    return cx.activation(y, cx.cfg("activation"))


def dense_layer(cx, inputs):
    x = single_input(cx, inputs, (2, 4))
    units = int(cx.cfg("units"))
    cin = cx.shape(x)[-1]
    use_bias = bool(cx.cfg("use_bias", True))
    w = cx.weights(["kernel"] + (["bias"] if use_bias else []), {"kernel": (cin, units), "bias": (units,)})
    bias = [cx.const("bias", w["bias"])] if use_bias else []
    if len(cx.shape(x)) == 2:
        y = cx.emit(Op.FULLY_CONNECTED, [x, cx.const("kernel", w["kernel"].T)] + bias)
    else:  # Dense on the last axis of an (N, H, W, C) tensor is a 1x1 convolution
        wk = w["kernel"].T.reshape(units, 1, 1, cin)
        y = cx.emit(Op.CONV_2D, [x, cx.const("kernel", wk)] + bias,
                    {"stride": [1, 1], "dilation": [1, 1], "pad": [0, 0, 0, 0], "groups": 1})
    return cx.activation(y, cx.cfg("activation"))


# ---------------------------------------------------------------- normalization / scaling
def _last_axis(cx, x):
    axis = cx.config.get("axis", -1)
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            cx.fail(f"normalization over axes {axis} is not supported (only the channel axis)")
        axis = axis[0]
    keras_rank = 3 if cx.is_1d(x) else len(cx.shape(x))
    if axis is None or axis not in (-1, keras_rank - 1):
        cx.fail(f"normalization over axis {axis} is not supported (only the last, channel axis)")


def _affine(cx, x, scale, shift):
    c = cx.shape(x)[-1]
    scale = np.broadcast_to(np.asarray(scale, np.float64).reshape(-1), (c,))
    shift = np.broadcast_to(np.asarray(shift, np.float64).reshape(-1), (c,))
    return cx.emit(Op.BATCH_NORM, [x, cx.const("scale", scale), cx.const("shift", shift)])


def batch_norm_layer(cx, inputs):
    x = single_input(cx, inputs, (2, 4))
    _last_axis(cx, x)
    c = cx.shape(x)[-1]
    names = (["gamma"] if cx.cfg("scale", True) else []) + (["beta"] if cx.cfg("center", True) else [])
    names += ["moving_mean", "moving_variance"]
    w = cx.weights(names, {n: (c,) for n in names})
    gamma = w.get("gamma", np.ones(c, np.float32)).astype(np.float64)
    beta = w.get("beta", np.zeros(c, np.float32)).astype(np.float64)
    mul = gamma / np.sqrt(w["moving_variance"].astype(np.float64) + float(cx.cfg("epsilon", 1e-3)))
    return _affine(cx, x, mul, beta - w["moving_mean"].astype(np.float64) * mul)


def normalization_layer(cx, inputs):
    x = single_input(cx, inputs, (2, 4))
    _last_axis(cx, x)
    if cx.cfg("invert", False):
        cx.fail("Normalization(invert=True) is not supported")
    if cx.config.get("mean") is not None:
        mean, var = np.asarray(cx.config["mean"]), np.asarray(cx.config["variance"])
    else:
        w = cx.weights(["mean", "variance", "count"])
        mean, var = w["mean"], w["variance"]
    c = cx.shape(x)[-1]
    if mean.size not in (1, c) or var.size not in (1, c):
        cx.fail(f"mean/variance of shape {mean.shape} do not match {c} channels")
    std = np.maximum(np.sqrt(var.astype(np.float64)), 1e-7)  # keras.backend.epsilon()
    return _affine(cx, x, 1.0 / std, -mean.astype(np.float64) / std)


def rescaling_layer(cx, inputs):
    x = single_input(cx, inputs, (2, 4))
    scale = np.asarray(cx.cfg("scale", 1.0), np.float64)
    offset = np.asarray(cx.cfg("offset", 0.0), np.float64)
    c = cx.shape(x)[-1]
    if scale.size not in (1, c) or offset.size not in (1, c):
        cx.fail(f"scale/offset of shapes {scale.shape}/{offset.shape} are not per-channel")
    return _affine(cx, x, scale, offset)
