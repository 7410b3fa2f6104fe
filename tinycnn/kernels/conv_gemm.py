"""Host fast path for CONV_2D: im2col + float32 GEMM that is *exact* for int8.

Why it is exact: the GEMM multiplies raw int8 inputs (|x| <= 128) by int8 weights
(|w| <= 128); every product is an integer of magnitude <= 2**14 and every partial sum of at
most K_MAX = 1024 of them stays below 2**24, where float32 represents all integers exactly —
whatever order or FMA the BLAS uses (wider integer weights, e.g. a legacy uint8 model's w - zp,
get a proportionally shorter chunk). Longer reductions are split into chunks summed in
int32. The input offset is folded out (sum((x + off) * w) = sum(x * w) + off * sum(w)), and
padded positions hold the input zero point (= -input_offset) so they contribute exactly 0, as
in TFLite Micro. Requantization then follows the same fixed-point path as every kernel.

This is the CPU runtime's path (the BLAS buffers are host-only scratch, not part of a device
arena); tests check it against the NumPy integer reference like every other kernel. On CPUs with
AVX-512 VNNI an int8 GEMM (vnni.py, ~4x the float32 GEMM's MAC rate here) replaces the float32 one.
"""
from __future__ import annotations

import numpy as np

from tinycnn.fixedpoint import multiply_by_quantized_multiplier as mbqm
from tinycnn.jit import njit
from tinycnn.kernels import lanes

K_MAX = 1024


@njit
def im2col(x, kh, kw, geom, pad_value, offset, col):
    """x [N,H,W,C] int8 -> col [N*OH*OW, >= KH*KW*C] holding x + offset in col's dtype (float32
    for the float32 GEMM with offset 0; uint8 for the VNNI GEMM with offset 128); padded taps
    hold pad_value. groups = 1; geom = [sh, sw, dh, dw, pt, pl, -, pb, pr]."""
    n_batch, in_h, in_w, cin = x.shape
    sh, sw, dh, dw, pt, pl = geom[0], geom[1], geom[2], geom[3], geom[4], geom[5]
    out_h = (in_h + geom[4] + geom[7] - dh * (kh - 1) - 1) // sh + 1
    out_w = (in_w + geom[5] + geom[8] - dw * (kw - 1) - 1) // sw + 1
    p = 0
    for n in range(n_batch):
        for oy in range(out_h):
            for ox in range(out_w):
                k = 0
                for ky in range(kh):
                    iy = oy * sh - pt + ky * dh
                    for kx in range(kw):
                        ix = ox * sw - pl + kx * dw
                        if iy < 0 or iy >= in_h or ix < 0 or ix >= in_w:
                            for c in range(cin):
                                col[p, k + c] = pad_value
                        else:
                            for c in range(cin):
                                col[p, k + c] = np.int32(x[n, iy, ix, c]) + offset
                        k += cin
                p += 1


@njit
def int8_to_f32(x2d, col):
    rows, cols = x2d.shape
    for i in range(rows):
        for j in range(cols):
            col[i, j] = x2d[i, j]


@njit
def accumulate_f32(acc_f32, acc_i32):
    rows, cols = acc_f32.shape
    for i in range(rows):
        for j in range(cols):
            acc_i32[i, j] += np.int32(acc_f32[i, j])


@njit
def requantize_f32(acc, bias, mult, shift, quant, out2d):
    rows, cols = acc.shape
    for i in range(rows):
        for oc in range(cols):
            v = mbqm(np.int32(acc[i, oc]) + bias[oc], mult[oc], shift[oc]) + quant[1]
            if v < quant[2]:
                v = quant[2]
            if v > quant[3]:
                v = quant[3]
            out2d[i, oc] = v


@njit
def requantize_i32(acc, bias, mult, shift, quant, out2d):
    rows, cols = acc.shape
    for i in range(rows):
        for oc in range(cols):
            v = mbqm(acc[i, oc] + bias[oc], mult[oc], shift[oc]) + quant[1]
            if v < quant[2]:
                v = quant[2]
            if v > quant[3]:
                v = quant[3]
            out2d[i, oc] = v


def folded_bias(w, bias, input_offset):
    """bias + input_offset * sum(w) per output channel (int32; checked not to overflow)."""
    b = bias.astype(np.int64) + int(input_offset) * w.reshape(w.shape[0], -1).astype(np.int64).sum(1)
    if np.any(np.abs(b) >= 2 ** 31):
        return None
    return b.astype(np.int32)


def requant_fn(w, bias, quant, mult, shift, b_eff, general):
    """acc [rows, Cout] -> out2d: the branch-free vectorized requantization where it is exact
    (lanes.requant_args / acc_bound_ok), else ``general`` (requantize_f32 / requantize_i32)."""
    args = lanes.requant_args(mult, shift)
    if args is not None and lanes.acc_bound_ok(w, bias, quant[0]):
        rshift, rmask = args
        return lambda acc, out2d: lanes.requantize_lanes(acc, b_eff, mult, rshift, rmask, quant, out2d)
    return lambda acc, out2d: general(acc, b_eff, mult, shift, quant, out2d)


def make_gemm_conv(x, w, bias, mult, shift, attrs, quant, out, host_scratch):
    """Bind a CONV_2D (groups = 1) to the exact GEMM path; returns a zero-argument callable,
    or None when the path does not apply (then the direct kernel is used)."""
    cout, kh, kw, cin = w.shape
    k_len = kh * kw * cin
    b_eff = folded_bias(w, bias, quant[0])
    if b_eff is None or attrs.get("groups", 1) != 1:
        return None
    n, oh, ow, _ = out.shape
    rows = n * oh * ow
    fast = _make_vnni_conv(x, w, bias, mult, shift, attrs, quant, out, host_scratch)
    if fast is not None:
        return fast
    w_t = np.ascontiguousarray(w.reshape(cout, k_len).T, dtype=np.float32)  # [K, Cout]
    col = host_scratch((rows, k_len), np.float32)
    acc = host_scratch((rows, cout), np.float32)
    out2d = out.reshape(rows, cout)
    pointwise = (kh, kw) == (1, 1) and attrs["stride"] == [1, 1] and not any(attrs["pad"])
    if pointwise:
        x2d = x.reshape(rows, cin)
        fill = lambda: int8_to_f32(x2d, col)  # noqa: E731
    else:
        geom = np.array(attrs["stride"] + attrs.get("dilation", [1, 1]) + attrs["pad"][:2]
                        + [0] + attrs["pad"][2:], np.int64)  # [sh, sw, dh, dw, pt, pl, -, pb, pr]
        pad_value = float(-quant[0])
        fill = lambda: im2col(x, kh, kw, geom, pad_value, 0, col)  # noqa: E731
    # exact while every partial sum stays below 2**24: 128 * max|w| per product
    k_chunk = max(1, min(K_MAX, (1 << 24) // (128 * max(1, int(np.abs(w.astype(np.int64)).max())))))
    if k_len <= k_chunk:
        requant = requant_fn(w, bias, quant, mult, shift, b_eff, requantize_f32)

        def run():
            fill()
            np.matmul(col, w_t, out=acc)
            requant(acc, out2d)
        return run
    acc_i32 = host_scratch((rows, cout), np.int32)
    chunks = [(k0, min(k0 + k_chunk, k_len)) for k0 in range(0, k_len, k_chunk)]
    col_chunks = [np.ascontiguousarray(col[:, a:b]) for a, b in chunks]  # buffers, refilled per run
    w_chunks = [np.ascontiguousarray(w_t[a:b]) for a, b in chunks]
    requant = requant_fn(w, bias, quant, mult, shift, b_eff, requantize_i32)

    def run_chunked():
        fill()
        acc_i32.fill(0)
        for (a, b), cc, wc in zip(chunks, col_chunks, w_chunks):
            np.copyto(cc, col[:, a:b])
            np.matmul(cc, wc, out=acc)
            accumulate_f32(acc, acc_i32)
        requant(acc_i32, out2d)
    return run_chunked


def _make_vnni_conv(x, w, bias, mult, shift, attrs, quant, out, host_scratch):
    """The same convolution on an AVX-512 VNNI int8 GEMM (tinycnn/kernels/vnni.py): activations
    shifted to uint8 (x + 128, padding = zero point + 128 so it contributes 0), the -128 * sum(w)
    correction folded into the bias; int32 accumulation is exact for K <= vnni.K_LIMIT. None when
    the CPU (or NUMBA_DISABLE_JIT) rules it out; the float32 GEMM path is used then."""
    from tinycnn.kernels import vnni
    cout, kh, kw, cin = w.shape
    k_len = kh * kw * cin
    if not vnni.available() or k_len > vnni.K_LIMIT or w.dtype != np.int8:
        return None
    packed = vnni.pack_weights(np.ascontiguousarray(w.reshape(cout, k_len)))
    b_eff = vnni.folded_bias_u8(packed, bias, quant[0])
    if b_eff is None:
        return None
    n, oh, ow, _ = out.shape
    rows = n * oh * ow
    col = host_scratch((rows, k_len), np.uint8)
    acc = host_scratch((rows, cout), np.int32)
    out2d = out.reshape(rows, cout)
    if (kh, kw) == (1, 1) and attrs["stride"] == [1, 1] and not any(attrs["pad"]):
        x2d = x.reshape(rows, cin)
        fill = lambda: vnni.s8_to_u8(x2d, col)  # noqa: E731
    else:
        geom = np.array(attrs["stride"] + attrs.get("dilation", [1, 1]) + attrs["pad"][:2]
                        + [0] + attrs["pad"][2:], np.int64)
        pad_u8 = int(-quant[0]) + 128
        fill = lambda: vnni.im2col_u8(x, kh, kw, geom, pad_u8, col)  # noqa: E731
    data = packed.data
    requant = requant_fn(w, bias, quant, mult, shift, b_eff, requantize_i32)

    def run():
        fill()
        vnni.gemm_u8s8_raw(col, data, k_len, cout, acc)
        requant(acc, out2d)
    return run
