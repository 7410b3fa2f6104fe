"""TRANSPOSE_CONV (NHWC; weights [C_out, KH, KW, C_in], TFLite's layout; groups 1, dilation 1).

Every input pixel scatters into the output (TFLite reference_ops::TransposeConv):
    oy = iy * stride_h - pad_top + ky,  ox = ix * stride_w - pad_left + kx
    out[n, oy, ox, co] += x[n, iy, ix, ci] * w[co, ky, kx, ci]   for 0 <= oy < OH, 0 <= ox < OW
with (OH, OW) = attrs["output_size"] (ONNX output_padding and TFLite's explicit output shape
both end up there; pad bottom/right are informative). Then + bias[co] and the fused clamp.
int8 (TFLite Micro transpose_conv.cc, int8 path): int32 accumulators of
(x + input_offset) * w, + bias, MultiplyByQuantizedMultiplier per output channel,
+ output_offset, clamp to [act_min, act_max] (prepared as for CONV_2D).
"""
from __future__ import annotations

import numpy as np

from tinycnn.fixedpoint import np_multiply_by_quantized_multiplier as mbqm
from tinycnn.reference.float_ops import clamp


def output_size(in_size, kernel, stride, pad_before, pad_after, output_padding=0):
    return (in_size - 1) * stride + kernel - pad_before - pad_after + output_padding


def _scatter(x, w, attrs):
    n, h, wd, _ = x.shape
    cout, kh, kw, _ = w.shape
    sh, sw = attrs["stride"]
    pt, pl = attrs["pad"][:2]
    oh, ow = attrs["output_size"]
    full = np.zeros((n, (h - 1) * sh + kh, (wd - 1) * sw + kw, cout), np.int64 if x.dtype.kind == "i" else np.float64)
    contrib = np.tensordot(x, w, axes=([3], [3]))  # [N, H, W, Cout, KH, KW]
    for ky in range(kh):
        for kx in range(kw):
            full[:, ky:ky + (h - 1) * sh + 1:sh, kx:kx + (wd - 1) * sw + 1:sw] += contrib[..., ky, kx]
    # crop the padding; rows beyond the scatter (output_padding) stay 0
    out = np.zeros((n, oh, ow, cout), full.dtype)
    src = full[:, pt:pt + oh, pl:pl + ow]
    out[:, :src.shape[1], :src.shape[2]] = src
    return out


def transpose_conv(node, x, w, b=None):
    y = _scatter(x.astype(np.float64), w.astype(np.float64), node.attrs)
    if b is not None:
        y = y + b
    return clamp(y, node.attrs).astype(np.float32)


def transpose_conv_int(node, x, w, b):
    a = node.attrs
    acc = _scatter(x.astype(np.int64) + a["input_offset"], w.astype(np.int64), a) + b.astype(np.int64)
    acc = mbqm(acc, node.params["output_multiplier"], node.params["output_shift"]) + a["output_offset"]
    return np.clip(acc, a["act_min"], a["act_max"]).astype(np.int8)
