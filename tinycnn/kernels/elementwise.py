"""int8 elementwise kernels on 4-D views (broadcasting = zero strides, set up at plan time).

add_sub_s8 quant = [in1_off, in2_off, out_off, left_shift, m1, s1, m2, s2, mo, so, act_min, act_max, sign2]
mul_s8     quant = [in1_off, in2_off, out_off, mo, so, act_min, act_max]
prelu_s8   quant = [in_off, alpha_off, out_off, m1, s1, m2, s2]
requantize_s8 quant = [in_off, out_off, m, s]
"""
from __future__ import annotations

import numpy as np

from tinycnn.fixedpoint import multiply_by_quantized_multiplier as mbqm
from tinycnn.jit import njit


@njit
def add_sub_s8(x1, x2, q, out):
    n_b, h, w, c_n = out.shape
    ls = np.int64(1) << q[3]
    for n in range(n_b):
        for y in range(h):
            for xx in range(w):
                for c in range(c_n):
                    a = mbqm((np.int64(x1[n, y, xx, c]) + q[0]) * ls, q[4], q[5])
                    b = mbqm((np.int64(x2[n, y, xx, c]) + q[1]) * ls, q[6], q[7])
                    raw = a + b if q[12] > 0 else a - b
                    v = mbqm(raw, q[8], q[9]) + q[2]
                    out[n, y, xx, c] = max(min(v, q[11]), q[10])


@njit
def mul_s8(x1, x2, q, out):
    n_b, h, w, c_n = out.shape
    for n in range(n_b):
        for y in range(h):
            for xx in range(w):
                for c in range(c_n):
                    acc = (np.int64(x1[n, y, xx, c]) + q[0]) * (np.int64(x2[n, y, xx, c]) + q[1])
                    v = mbqm(acc, q[3], q[4]) + q[2]
                    out[n, y, xx, c] = max(min(v, q[6]), q[5])


@njit
def prelu_s8(x, alpha, q, out):
    n_b, h, w, c_n = out.shape
    for n in range(n_b):
        for y in range(h):
            for xx in range(w):
                for c in range(c_n):
                    v = np.int64(x[n, y, xx, c]) + q[0]
                    if v >= 0:
                        r = mbqm(v, q[3], q[4])
                    else:
                        r = mbqm(v * (np.int64(alpha[n, y, xx, c]) + q[1]), q[5], q[6])
                    out[n, y, xx, c] = max(min(r + q[2], 127), -128)


@njit
def lut_s8(x, table, out):
    xf = x.reshape(x.size)
    of = out.reshape(out.size)
    for i in range(xf.size):
        of[i] = table[np.int32(xf[i]) + 128]


@njit
def requantize_s8(x, q, out):
    """4-D views (out may be a channel slice of a concatenation buffer)."""
    n_b, h, w, c_n = out.shape
    for n in range(n_b):
        for y in range(h):
            for xx in range(w):
                for c in range(c_n):
                    v = mbqm(np.int64(x[n, y, xx, c]) + q[0], q[2], q[3]) + q[1]
                    out[n, y, xx, c] = max(min(v, 127), -128)


@njit
def softmax_s8(x, exp_table, out):
    """Integer softmax over the last axis of a 2-D view: e = table[max - x] (Q20),
    out = round(256 * e / sum(e)) - 128."""
    rows, cols = x.shape
    for r in range(rows):
        m = np.int32(-128)
        for c in range(cols):
            if np.int32(x[r, c]) > m:
                m = np.int32(x[r, c])
        total = np.int64(0)
        for c in range(cols):
            total += exp_table[m - np.int32(x[r, c])]
        for c in range(cols):
            e = np.int64(exp_table[m - np.int32(x[r, c])])
            v = (e * 512 + total) // (2 * total) - 128
            out[r, c] = max(min(v, 127), -128)
