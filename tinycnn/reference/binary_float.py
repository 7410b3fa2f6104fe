"""Float semantics of the binary ops (the oracle; see docs/binary.md).

BINARY_CONV_2D / BINARY_FULLY_CONNECTED (float graph: inputs x, w, optional b):
    xb    = sign(x)  (+1 where x >= 0, -1 where x < 0)       if attrs binary_input (default)
          = x                                               otherwise (1-bit weights only)
    wb    = sign(w), alpha[c] = float32(mean |w[c]|)        (XNOR-Net per-channel scale)
    dot   = conv(xb, wb) / xb @ wb.T                        (exact integers for binary input)
            padded positions contribute 0 (attrs pad_mode "zero", ONNX/PyTorch semantics)
            or +1 (pad_mode "one", Larq pad_values=1)
    y     = clamp(float32(alpha * dot + b))                 (float64 multiply-add, one rounding)
A weight already of the form alpha[c] * sign (what trained BNNs and BN folding give) is kept
exactly. In a quantized graph a binary layer's output is either int8 (y quantized) or packed
bits (sign(y)); both are exact functions of ``dot`` given by ``real_output``.

BINARIZE: sign(x) as +-1 floats. BINARY_MAX_POOL_2D: max pool of +-1 values (the padded
positions never win), which equals sign(max_pool(x)) because sign is monotone.
"""
from __future__ import annotations

import numpy as np

from tinycnn.reference.float_ops import clamp, extract_patches, max_pool_2d


def signs(x) -> np.ndarray:
    return np.where(np.asarray(x) < 0, -1.0, 1.0)


def channel_alpha(w) -> np.ndarray:
    """Per-output-channel scale float32(mean |w[c]|) (axis 0 = output channel)."""
    w = np.asarray(w)
    return np.abs(w.reshape(w.shape[0], -1).astype(np.float64)).mean(axis=1).astype(np.float32)


def real_output(attrs, dot, alpha, bias) -> np.ndarray:
    """The output transform shared by the float reference, the integer reference and the
    threshold computation: float32(alpha * dot + bias) then the fused clamp."""
    cout = alpha.shape[0]
    b = np.zeros(cout) if bias is None else np.asarray(bias, np.float64)
    y = (np.asarray(dot, np.float64) * alpha.astype(np.float64) + b).astype(np.float32)
    return clamp(y, attrs).astype(np.float32)


def binary_conv_dot(attrs, x, wb) -> np.ndarray:
    """dot products of the (already binarized unless binary_input is False) input with +-1
    weights [Cout, KH, KW, Cin], padding per pad_mode."""
    binary_input = attrs.get("binary_input", True)
    pad_value = 1.0 if (binary_input and attrs.get("pad_mode", "zero") == "one") else 0.0
    _, kh, kw, _ = wb.shape
    patches = extract_patches(np.asarray(x, np.float64), kh, kw, attrs, pad_value=pad_value)
    return np.tensordot(patches, wb.astype(np.float64), axes=([3, 4, 5], [1, 2, 3]))


def binary_conv_2d_float(node, x, w, b=None):
    if node.attrs.get("groups", 1) != 1:
        raise NotImplementedError(f"{node.name}: grouped binary convolution")
    xb = signs(x) if node.attrs.get("binary_input", True) else x
    dot = binary_conv_dot(node.attrs, xb, signs(w))
    return real_output(node.attrs, dot, channel_alpha(w), b)


def binary_fully_connected_float(node, x, w, b=None):
    x2 = np.asarray(x).reshape(len(x), -1)
    xb = signs(x2) if node.attrs.get("binary_input", True) else x2.astype(np.float64)
    dot = xb @ signs(w).astype(np.float64).T
    return real_output(node.attrs, dot, channel_alpha(w), b)


def binarize_float(node, x):
    return signs(x).astype(np.float32)


def binary_max_pool_2d_float(node, x):
    return max_pool_2d(node, signs(x).astype(np.float32))
