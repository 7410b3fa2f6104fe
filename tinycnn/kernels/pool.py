"""int8 pooling and spatial mean (TFLite Micro reference semantics).

geom = [kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left]; padding is excluded from
both max and average (the count is of in-bounds elements)."""
from __future__ import annotations

import numpy as np

from tinycnn.fixedpoint import multiply_by_quantized_multiplier as mbqm
from tinycnn.jit import njit


@njit
def max_pool_2d_s8(x, geom, act_min, act_max, out):
    n_batch, in_h, in_w, c_n = x.shape
    _, out_h, out_w, _ = out.shape
    kh, kw, sh, sw, pt, pl = geom[0], geom[1], geom[2], geom[3], geom[4], geom[5]
    for n in range(n_batch):
        for oy in range(out_h):
            y0 = max(oy * sh - pt, 0)
            y1 = min(oy * sh - pt + kh, in_h)
            for ox in range(out_w):
                x0 = max(ox * sw - pl, 0)
                x1 = min(ox * sw - pl + kw, in_w)
                for c in range(c_n):
                    m = -1 << 30
                    for iy in range(y0, y1):
                        for ix in range(x0, x1):
                            v = np.int32(x[n, iy, ix, c])
                            if v > m:
                                m = v
                    m = max(min(m, act_max), act_min)
                    out[n, oy, ox, c] = m


@njit
def average_pool_2d_s8(x, geom, act_min, act_max, out, half_up=False):
    """half_up: legacy uint8 rounding, floor((sum + count / 2) / count) (kernels/uint8.py)."""
    n_batch, in_h, in_w, c_n = x.shape
    _, out_h, out_w, _ = out.shape
    kh, kw, sh, sw, pt, pl = geom[0], geom[1], geom[2], geom[3], geom[4], geom[5]
    for n in range(n_batch):
        for oy in range(out_h):
            y0 = max(oy * sh - pt, 0)
            y1 = min(oy * sh - pt + kh, in_h)
            for ox in range(out_w):
                x0 = max(ox * sw - pl, 0)
                x1 = min(ox * sw - pl + kw, in_w)
                count = (y1 - y0) * (x1 - x0)
                if count <= 0:  # a window entirely in the padding (TFLM refuses such models)
                    for c in range(c_n):
                        out[n, oy, ox, c] = max(min(0, act_max), act_min)
                    continue
                for c in range(c_n):
                    acc = np.int32(0)
                    for iy in range(y0, y1):
                        for ix in range(x0, x1):
                            acc += np.int32(x[n, iy, ix, c])
                    # round half away from zero with C's truncating division
                    if acc > 0 or half_up:  # floor division: rounds half up
                        acc = (acc + count // 2) // count
                    else:
                        acc = -((-acc + count // 2) // count)
                    out[n, oy, ox, c] = max(min(acc, act_max), act_min)


@njit
def mean_hw(x, quant, acc_buf, out):
    """Mean over H, W for int8 or int16 activations. quant = [input_offset, output_offset,
    output_multiplier, output_shift, qmin, qmax]; out [N,1,1,C]; acc_buf [C] sets the accumulator
    width (int32 for int8, int64 for int16)."""
    n_batch, h, w, c_n = x.shape
    for n in range(n_batch):
        for c in range(c_n):
            acc_buf[c] = 0
        for y in range(h):
            for xx in range(w):
                for c in range(c_n):
                    acc_buf[c] += x[n, y, xx, c]
        for c in range(c_n):
            v = mbqm(acc_buf[c] + quant[0] * h * w, quant[2], quant[3]) + quant[1]
            out[n, 0, 0, c] = max(min(v, quant[5]), quant[4])
