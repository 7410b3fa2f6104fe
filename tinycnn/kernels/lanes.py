"""Host fast paths that keep their arithmetic in int32 (or exact float32) SIMD lanes.

Numba types ``int32 op int32`` as int64, so a plain ``acc += (x + off) * w`` reduction
vectorizes in int64 lanes (half the width, plus sign extensions). These kernels vectorize over
output channels instead of reducing over K, fold the input offset into the bias at plan time
(sum((x + off) * w) = sum(x * w) + off * sum(w): identical modulo 2**32, and the accumulator is
an int32 in TFLite, so identical whenever TFLite's own int32 accumulator does not overflow —
the validator's accumulator limit), and truncate every partial sum back to int32, which lets
LLVM keep the lanes 32 bits wide. Each has the NumPy reference as oracle (tests/test_kernels.py,
tests/test_kernel_lanes.py).

fully_connected_lanes: weights transposed once to [K, Cout]; per input row one int32 accumulator
vector over the output channels.
"""
from __future__ import annotations

import numpy as np

from tinycnn.fixedpoint import multiply_by_quantized_multiplier as mbqm
from tinycnn.jit import njit


@njit
def fully_connected_lanes(x, w_t, bias_eff, mult, shift, quant, acc, out):
    """x int8 [N, K]; w_t int8 [K, Cout]; bias_eff int32 [Cout] (input offset folded in);
    acc int32 [Cout] scratch; quant = [input_offset, output_offset, act_min, act_max]."""
    n_batch, k_len = x.shape
    cout = w_t.shape[1]
    for n in range(n_batch):
        for oc in range(cout):
            acc[oc] = bias_eff[oc]
        for k in range(k_len):
            xv = np.int32(x[n, k])
            wrow = w_t[k]
            for oc in range(cout):
                acc[oc] = np.int32(acc[oc] + xv * np.int32(wrow[oc]))
        for oc in range(cout):
            v = mbqm(acc[oc], mult[oc], shift[oc]) + quant[1]
            if v < quant[2]:
                v = quant[2]
            if v > quant[3]:
                v = quant[3]
            out[n, oc] = v



@njit
def requantize_lanes(acc, bias, mult, rshift, rmask, quant, out2d):
    """out2d[i, oc] = clamp(MultiplyByQuantizedMultiplier(acc[i, oc] + bias[oc]) + output_offset),
    branch-free so it vectorizes (8 lanes): the int32 x int32 -> int64 high multiply, TFLite's
    rounding nudge, truncating division by 2**31, then the rounding right shift in int32 lanes.
    Valid only for shifts <= 0 (rshift = -shift, rmask = (1 << rshift) - 1), multipliers >= 0 (so
    SaturatingRoundingDoublingHighMul's INT32_MIN * INT32_MIN case cannot occur) and acc + bias
    known to fit int32 (``requant_args`` checks all three at plan time). acc: int32 or float32
    holding integers exactly (the float32 GEMM path)."""
    rows, cols = acc.shape
    oo, lo, hi = np.int32(quant[1]), np.int32(quant[2]), np.int32(quant[3])
    for i in range(rows):
        for oc in range(cols):
            a = np.int32(np.int32(acc[i, oc]) + bias[oc])
            ab = np.int64(a) * np.int64(mult[oc])
            t = ab + (np.int64(1 << 30) if ab >= 0 else np.int64(1 - (1 << 30)))
            h = np.int32((t + ((t >> 63) & np.int64(0x7FFFFFFF))) >> 31)
            msk = rmask[oc]
            thr = (msk >> 1) - (h >> 31)
            v = np.int32((h >> rshift[oc]) + ((h & msk) > thr)) + oo
            v = lo if v < lo else v
            out2d[i, oc] = hi if v > hi else v


def acc_bound_ok(w, bias, input_offset) -> bool:
    """True when every accumulator bias + sum((x + input_offset) * w) of a layer fits int32 for
    any int8 input x (|x + off| <= 128 + |off|): then int32 lanes compute it exactly."""
    w64 = np.abs(w.reshape(w.shape[0], -1).astype(np.int64))
    bound = np.abs(bias.astype(np.int64)) + (128 + abs(int(input_offset))) * w64.sum(1)
    return bool(np.all(bound < 2 ** 31))


def requant_args(mult, shift):
    """(rshift, rmask) for requantize_lanes, or None where it does not apply (a left shift, i.e.
    a multiplier > 1, or a negative multiplier): the general kernel is used then."""
    mult, shift = np.asarray(mult), np.asarray(shift)
    if np.any(shift > 0) or np.any(shift < -31) or np.any(mult < 0):
        return None
    rshift = (-shift).astype(np.int32)
    return rshift, ((np.int64(1) << rshift) - 1).astype(np.int32)


@njit
def depthwise_lanes(x, w, bias, mult, rshift, rmask, geom, quant, acc, out):
    """Depth multiplier 1 depthwise conv (as conv.depthwise_conv_2d_s8: one output row of int32
    accumulators acc [OW, C], innermost loop over contiguous channels) with the multiply-add
    truncated to int32 so it vectorizes in int32 lanes, and requantize_lanes per output row."""
    n_batch, in_h, in_w, in_c = x.shape
    kh, kw, cout = w.shape
    _, out_h, out_w, _ = out.shape
    sh, sw, dh, dw, pt, pl = geom[0], geom[1], geom[2], geom[3], geom[4], geom[5]
    in_off = np.int32(quant[0])
    for n in range(n_batch):
        for oy in range(out_h):
            acc[:, :] = 0
            for ky in range(kh):
                iy = oy * sh - pt + ky * dh
                if iy < 0 or iy >= in_h:
                    continue
                xrow = x[n, iy]
                for kx in range(kw):
                    wv = w[ky, kx]
                    for ox in range(out_w):
                        ix = ox * sw - pl + kx * dw
                        if ix < 0 or ix >= in_w:
                            continue
                        xp = xrow[ix]
                        a = acc[ox]
                        for c in range(cout):
                            a[c] = np.int32(a[c] + (np.int32(xp[c]) + in_off) * np.int32(wv[c]))
            requantize_lanes(acc, bias, mult, rshift, rmask, quant, out[n, oy])
