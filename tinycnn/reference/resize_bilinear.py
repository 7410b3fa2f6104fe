"""RESIZE_BILINEAR (NHWC): float oracle and the int8 integer oracle.

Float (TFLite ResizeBilinear / ONNX Resize mode=linear): for output row y,
    in_y = (y + 0.5) * scale - 0.5   (half_pixel_centers)   or   y * scale
    scale = (H_in - 1) / (H_out - 1)  (align_corners, H_out > 1)  or  H_in / H_out
    y0 = max(floor(in_y), 0), y1 = min(ceil(in_y), H_in - 1), weight dy = in_y - y0
(columns alike) and out = sum of the four neighbours weighted (1-dy)(1-dx), dy(1-dx), ...

int8 (TFLite reference_ops::ResizeBilinearInteger, as TFLite Micro runs it): input and output
share scale and zero point; raw int8 values are interpolated with 10-bit fixed-point positions
    scale_10 = (1024 * H_in + H_out // 2) // H_out      (align: (1024*(H_in-1) + (H_out-1)//2) // (H_out-1))
    in_y = y * scale_10 + (scale_10 // 2 - 512 if half_pixel_centers else 0)
    y0 = max(in_y / 1024, 0), y1 = min((in_y + 1023) / 1024, H_in - 1)     (C division)
    acc = sum_k v_k * wy_k * wx_k  with wy = (1024 - (in_y - 1024*y0), in_y - 1024*y0)
    out = (acc + sign(acc) * 2^19) / 2^20   (C division: rounded half away from zero; TFLite's
          default build, TFLITE_SINGLE_ROUNDING off; the sum is exact in int64)
"""
from __future__ import annotations

import numpy as np


def _float_coords(in_size, out_size, align, half):
    if align and out_size > 1:
        scale = (in_size - 1) / (out_size - 1)
    else:
        scale = in_size / out_size
    i = np.arange(out_size, dtype=np.float64)
    v = (i + 0.5) * scale - 0.5 if half else i * scale
    lo = np.maximum(np.floor(v), 0).astype(np.int64)
    hi = np.minimum(np.ceil(v), in_size - 1).astype(np.int64)
    return v, lo, hi


def resize_bilinear(node, x):
    a = node.attrs
    oh, ow = a["size"]
    align, half = bool(a.get("align_corners")), bool(a.get("half_pixel_centers"))
    xf = x.astype(np.float64)
    vy, y0, y1 = _float_coords(x.shape[1], oh, align, half)
    vx, x0, x1 = _float_coords(x.shape[2], ow, align, half)
    dy = (vy - y0)[None, :, None, None]
    dx = (vx - x0)[None, None, :, None]
    top = xf[:, y0][:, :, x0] * (1 - dx) + xf[:, y0][:, :, x1] * dx
    bottom = xf[:, y1][:, :, x0] * (1 - dx) + xf[:, y1][:, :, x1] * dx
    return (top * (1 - dy) + bottom * dy).astype(np.float32)


def _cdiv(a, b):
    """C integer division (truncates toward zero)."""
    q = np.abs(a) // b
    return np.where(a < 0, -q, q)


def integer_coords(in_size, out_size, align, half):
    """(in_pos_10, lower, upper) int64 arrays over the output positions (TFLite integer resize)."""
    if align and out_size > 1:
        scale_10 = ((1 << 10) * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    else:
        scale_10 = ((1 << 10) * in_size + out_size // 2) // out_size
    i = np.arange(out_size, dtype=np.int64)
    pos = i * scale_10 + (scale_10 // 2 - (1 << 9) if half else 0)
    lo = np.maximum(_cdiv(pos, 1 << 10), 0)
    hi = np.minimum(_cdiv(pos + (1 << 10) - 1, 1 << 10), in_size - 1)
    return pos, lo, hi


def resize_bilinear_int(node, x):
    a = node.attrs
    oh, ow = a["size"]
    align, half = bool(a.get("align_corners")), bool(a.get("half_pixel_centers"))
    py, y0, y1 = integer_coords(x.shape[1], oh, align, half)
    px, x0, x1 = integer_coords(x.shape[2], ow, align, half)
    fy = (py - (y0 << 10))[None, :, None, None]
    fx = (px - (x0 << 10))[None, None, :, None]
    v = x.astype(np.int64)
    acc = (v[:, y0][:, :, x0] * ((1 << 10) - fy) * ((1 << 10) - fx)
           + v[:, y1][:, :, x0] * fy * ((1 << 10) - fx)
           + v[:, y0][:, :, x1] * ((1 << 10) - fy) * fx
           + v[:, y1][:, :, x1] * fy * fx)
    info = np.iinfo(x.dtype)
    out = _cdiv(acc + np.where(acc > 0, 1 << 19, -(1 << 19)), 1 << 20)
    return np.clip(out, info.min, info.max).astype(x.dtype)
