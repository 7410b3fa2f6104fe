"""Plain-NumPy oracle for the quantized binary ops: packed words are unpacked to +-1
integers and everything is computed the obvious way (the Numba kernels in
tinycnn/kernels/bconv.py must match it exactly). Node fields: see tinycnn/quant/binarize.py.
"""
from __future__ import annotations

import numpy as np

from tinycnn.bitpack import pack_bits, unpack_signs, words_for
from tinycnn.ir import Op
from tinycnn.fixedpoint import np_multiply_by_quantized_multiplier
from tinycnn.reference.float_ops import extract_patches


def quantize_real(y, scale, zero_point) -> np.ndarray:
    """float32 values -> int8 exactly as tinycnn.quant.int8.quantize_values (round half away)."""
    r = np.asarray(y, np.float32).astype(np.float64) / np.float64(np.float32(scale))
    r = np.sign(r) * np.floor(np.abs(r) + 0.5)
    return np.clip(r + zero_point, -128, 127).astype(np.int8)


def binary_output(node, dot) -> np.ndarray:
    """dot [..., Cout] (int64) -> int8 or packed output per attrs['output_mode']."""
    a, p = node.attrs, node.params
    if a["output_mode"] == "packed":
        return pack_bits(dot < p["threshold"].astype(np.int64))
    acc = np.asarray(dot, np.int64) * (1 << a["dot_shift"]) + p["bias_q"].astype(np.int64)
    v = np_multiply_by_quantized_multiplier(acc, p["output_multiplier"], p["output_shift"])
    return np.clip(v + a["output_zero_point"], a["act_min"], a["act_max"]).astype(np.int8)


def binary_conv_2d(node, x, w):
    a = node.attrs
    cin = a["in_channels"]
    xs = unpack_signs(x, cin, np.int64)
    ws = unpack_signs(w, cin, np.int64)
    pad_value = 1 if a.get("pad_mode", "zero") == "one" else 0
    _, kh, kw, _ = ws.shape
    patches = extract_patches(xs, kh, kw, a, pad_value=pad_value)
    dot = np.tensordot(patches, ws, axes=([3, 4, 5], [1, 2, 3]))
    return binary_output(node, dot)


def _unpack_flat(packed, pixels, channels):
    """[N, pixels * words(C)] -> +-1 [N, pixels * C] (per-pixel packing, as a flattened NHWC)."""
    n = packed.shape[0]
    return unpack_signs(packed.reshape(n, pixels, words_for(channels)), channels, np.int64).reshape(n, -1)


def binary_fully_connected(node, x, w):
    a = node.attrs
    pixels, cin = a.get("in_pixels", 1), a["in_channels"]
    xs = _unpack_flat(x.reshape(x.shape[0], -1), pixels, cin)
    ws = _unpack_flat(w, pixels, cin)
    return binary_output(node, xs @ ws.T)


def binarize(node, x):
    return pack_bits(x.astype(np.int32) < node.attrs["input_zero_point"])


def binary_max_pool_2d(node, x):
    a = node.attrs
    kh, kw = a["kernel"]
    xs = unpack_signs(x, a["channels"], np.int32)
    p = extract_patches(xs, kh, kw, a, pad_value=np.iinfo(np.int32).min)
    return pack_bits(p.max(axis=(3, 4)) < 0)


def conv_2d_maybe_packed(node, x, w, b):
    """CONV_2D; with attrs output_mode "packed" the output is the sign of the exact (int64)
    accumulator, bit = acc < 0 (sign fused into a conv feeding a binary layer; int8 or int16
    input, int8 or int16 weights, int32 or int64 bias)."""
    from tinycnn.reference import int_ops
    if node.attrs.get("output_mode") != "packed":
        return int_ops.conv_2d(node, x, w, b)
    a = node.attrs
    _, kh, kw, _ = w.shape
    patches = extract_patches(x.astype(np.int64) + a["input_offset"], kh, kw, a, pad_value=0)
    acc = np.tensordot(patches, w.astype(np.int64), axes=([3, 4, 5], [1, 2, 3])) + b.astype(np.int64)
    return pack_bits(acc < 0)


BINARY_INT_OPS = {Op.CONV_2D: conv_2d_maybe_packed, Op.BINARY_CONV_2D: binary_conv_2d, Op.BINARY_FULLY_CONNECTED: binary_fully_connected,
                  Op.BINARIZE: binarize, Op.BINARY_MAX_POOL_2D: binary_max_pool_2d}
