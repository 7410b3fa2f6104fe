"""Kernels for TFLite-Micro-exact variants of ops whose TFLM integer algorithm differs from
tinycnn's own (selected by ``node.attrs["kernel_variant"] == "tflm"``).

SOFTMAX/tflm: TFLM's int8 softmax (reference_ops::Softmax, gemmlowp exp + Newton-Raphson
reciprocal). The per-difference exp values are tables prepared at import time
(``params["exp_q0"]``, ``params["exp_acc"]``, -1 = below diff_min); the kernel does the row sum,
the reciprocal and the final scaling. NumPy oracle: tinycnn.reference.tflite_gemmlowp.softmax_int8.
MEAN needs no new kernel: TFLM's QuantizedMeanOrSum is tinycnn's pool.mean_hw with a different
prepared multiplier (see converters/tflite_quant.py).
"""
from __future__ import annotations

import numpy as np

from tinycnn.fixedpoint import rounding_divide_by_pot, saturating_rounding_doubling_high_mul as srdhm
from tinycnn.ir import Op
from tinycnn.jit import njit
from tinycnn.kernels.registry import binder

_INT32_MAX = (1 << 31) - 1


@njit
def _wrap32(x):
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


@njit
def _one_over_one_plus_x(a):
    s = np.int64(a) + _INT32_MAX
    t = s + (1 if s >= 0 else -1)
    half_denominator = t // 2 if t >= 0 else -((-t) // 2)
    x = _wrap32(1515870810 + srdhm(half_denominator, -1010580540))
    for _ in range(3):
        hdx = srdhm(half_denominator, x)
        one_minus = _wrap32((1 << 29) - hdx)
        p = srdhm(x, one_minus)
        # Rescale<2> from F4: saturating left shift by 2
        if p > (1 << 29) - 1:
            p = _INT32_MAX
        elif p < -((1 << 29) - 1):
            p = -(1 << 31)
        else:
            p = p << 2
        x = _wrap32(x + p)
    # Rescale<0>(ExactMulByPot<-1>(x)): saturating left shift by 1
    if x > (1 << 30) - 1:
        return np.int64(_INT32_MAX)
    if x < -((1 << 30) - 1):
        return np.int64(-(1 << 31))
    return np.int64(x << 1)


@njit
def softmax_tflm_s8(x, exp_q0, exp_acc, out_min, out_max, out):
    rows, cols = x.shape
    for r in range(rows):
        m = np.int64(-1 << 31)
        for c in range(cols):
            if np.int64(x[r, c]) > m:
                m = np.int64(x[r, c])
        total = np.int64(0)
        for c in range(cols):
            a = exp_acc[m - np.int64(x[r, c])]
            if a >= 0:
                total += a
        total = _wrap32(total)
        headroom = 0
        v = total
        while headroom < 32 and (v & (1 << 31)) == 0:
            v <<= 1
            headroom += 1
        bits = 12 - headroom
        shifted = _wrap32(((total << headroom) & 0xFFFFFFFF) - (1 << 31))
        scale = _one_over_one_plus_x(shifted)
        for c in range(cols):
            e = exp_q0[m - np.int64(x[r, c])]
            if e < 0:
                out[r, c] = out_min
            else:
                u = rounding_divide_by_pot(srdhm(scale, np.int64(e)), bits + 31 - 8) + out_min
                out[r, c] = max(min(u, out_max), out_min)


@binder((Op.SOFTMAX, "tflm"))
def _bind_softmax_tflm(graph, node, ins, out, scratch):
    e0 = np.ascontiguousarray(node.params["exp_q0"], np.int32)
    acc = np.ascontiguousarray(node.params["exp_acc"], np.int32)
    x2 = ins[0].reshape(-1, ins[0].shape[-1])
    o2 = out.reshape(-1, out.shape[-1])
    return lambda: softmax_tflm_s8(x2, e0, acc, -128, 127, o2)
