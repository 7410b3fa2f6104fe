"""Larq layers (QuantConv2D, QuantDense) read from the Keras config, without Larq or TensorFlow.

Quantizers of the sign family (ste_sign, approx_sign, swish_sign, ...: all +1 for x >= 0, -1
otherwise at inference) are recognized by class name; magnitude_aware_sign scales the weight
signs by mean |w| per output channel (XNOR-Net), which is exactly BINARY_*'s alpha.
- input and kernel quantizers both sign: BINARY_CONV_2D / BINARY_FULLY_CONNECTED with
  pad_mode "one" when pad_values == 1.0 (Larq pads the binarized input with +1), else "zero";
- kernel sign only (float input x binary weights, typical first layer): an ordinary CONV_2D /
  FULLY_CONNECTED with the +-1 (or +-alpha) weights, which the int8 quantizer keeps exactly;
- no quantizers: the plain Keras layer. kernel_constraint (weight_clip) only matters in training.
"""
from __future__ import annotations

import numpy as np

from converters import keras_layers as L
from converters.keras import LAYER_HANDLERS
from tinycnn.ir import Op

SIGN_QUANTIZERS = {"ste_sign", "stesign", "approx_sign", "approxsign", "swish_sign", "swishsign",
                   "magnitude_aware_sign", "magnitudeawaresign", "sign"}


def _quantizer(cx, key):
    q = cx.cfg(key)
    if q is None:
        return None
    name = q if isinstance(q, str) else q.get("class_name", "")
    norm = name.lower().replace("_", "")
    if norm not in {s.replace("_", "") for s in SIGN_QUANTIZERS}:
        cx.fail(f"{key} '{name}' is not supported (supported: sign-family quantizers "
                f"{', '.join(sorted(SIGN_QUANTIZERS))})")
    return "magnitude" if norm.startswith("magnitude") else "sign"


def _binary_weights(kind, w_out_first):
    """+-1 signs (sign(0)=+1), times mean |w| per output channel for magnitude_aware_sign."""
    s = np.where(w_out_first < 0, -1.0, 1.0)
    if kind == "magnitude":
        s *= np.abs(w_out_first.reshape(len(w_out_first), -1)).mean(axis=1).reshape((-1,) + (1,) * (s.ndim - 1))
    return s.astype(np.float32)


def quant_conv2d_layer(cx, inputs):
    x = L.single_input(cx, inputs, (4,))
    in_q, k_q = _quantizer(cx, "input_quantizer"), _quantizer(cx, "kernel_quantizer")
    kernel, geom = L._conv_common(cx, x, 1)
    if int(cx.cfg("groups", 1)) != 1:
        cx.fail("grouped QuantConv2D is not supported")
    filters, cin = int(cx.cfg("filters")), cx.shape(x)[3]
    use_bias = bool(cx.cfg("use_bias", True))
    w = cx.weights(["kernel"] + (["bias"] if use_bias else []),
                   {"kernel": (kernel[0], kernel[1], cin, filters), "bias": (filters,)})
    wk = w["kernel"].reshape(kernel[0], kernel[1], cin, filters).transpose(3, 0, 1, 2)
    if k_q:
        wk = _binary_weights(k_q, wk)
    ins = [x, cx.const("kernel", wk)] + ([cx.const("bias", w["bias"])] if use_bias else [])
    if in_q and k_q:
        pad_mode = "one" if float(cx.cfg("pad_values", 0.0)) == 1.0 else "zero"
        y = cx.emit(Op.BINARY_CONV_2D, ins, {**geom, "pad_mode": pad_mode})
    elif in_q:
        cx.fail("binary input with real-valued weights is not supported (add a kernel_quantizer)")
    else:
        if float(cx.cfg("pad_values", 0.0)) != 0.0 and any(geom["pad"]):
            cx.fail("pad_values != 0 without an input quantizer is not supported")
        y = cx.emit(Op.CONV_2D, ins, {**geom, "groups": 1})
    return cx.activation(y, cx.cfg("activation"))


def quant_dense_layer(cx, inputs):
    x = L.single_input(cx, inputs, (2,))
    in_q, k_q = _quantizer(cx, "input_quantizer"), _quantizer(cx, "kernel_quantizer")
    units, cin = int(cx.cfg("units")), cx.shape(x)[-1]
    use_bias = bool(cx.cfg("use_bias", True))
    w = cx.weights(["kernel"] + (["bias"] if use_bias else []), {"kernel": (cin, units), "bias": (units,)})
    wk = w["kernel"].T
    if k_q:
        wk = _binary_weights(k_q, wk)
    ins = [x, cx.const("kernel", wk)] + ([cx.const("bias", w["bias"])] if use_bias else [])
    if in_q and k_q:
        y = cx.emit(Op.BINARY_FULLY_CONNECTED, ins)
    elif in_q:
        cx.fail("binary input with real-valued weights is not supported (add a kernel_quantizer)")
    else:
        y = cx.emit(Op.FULLY_CONNECTED, ins)
    return cx.activation(y, cx.cfg("activation"))


LAYER_HANDLERS.update({"QuantConv2D": quant_conv2d_layer, "QuantDense": quant_dense_layer})
