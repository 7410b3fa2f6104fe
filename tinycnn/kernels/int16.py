"""16x8 kernels (int16 activations with zero point 0, int8 weights, int64 bias; TFLite's
16x8 scheme) and their binders (named by the int16x8 specs in tinycnn/opspec/variants.py; ADD/SUB use the
int8 binder: the kernel is dtype-generic, 16x8 differs in its prepared fields).

Weighted ops accumulate in int64 and requantize with TFLite's int64
MultiplyByQuantizedMultiplier (16-bit rounded multiplier, one rounding shift). Pools, pad,
reshape, transpose and resize have no variant: the int8 kernels are dtype-generic and their
clamp limits come from the int16 output type. NumPy oracles: tinycnn/reference/int16_ops.py.

conv geom = [stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, groups];
depthwise geom = [..., depth_multiplier]; clamp = [output_offset, act_min, act_max].
"""
from __future__ import annotations

import numpy as np

from tinycnn.fixedpoint import multiply_by_quantized_multiplier as mbqm
from tinycnn.jit import njit
from tinycnn.kernels import pool
from tinycnn.kernels.registry import as4d

VARIANT = "int16x8"


@njit
def mbqm_int64(x, multiplier, shift):
    """TFLite MultiplyByQuantizedMultiplier(int64_t, int32_t, int), double-rounding build."""
    m = np.int64(multiplier)
    reduced = (m + (1 << 15)) >> 16 if m < 0x7FFF0000 else np.int64(0x7FFF)
    total_shift = 15 - np.int64(shift)
    return (np.int64(x) * reduced + (np.int64(1) << (total_shift - 1))) >> total_shift


@njit
def _store(acc, mult, shift, clamp):
    v = mbqm_int64(acc, mult, shift) + clamp[0]
    return max(min(v, clamp[2]), clamp[1])


@njit
def conv_2d_s16(x, w, bias, mult, shift, geom, clamp, out):
    n_batch, in_h, in_w, _ = x.shape
    cout, kh, kw, cig = w.shape
    _, out_h, out_w, _ = out.shape
    sh, sw, dh, dw, pt, pl, groups = geom[0], geom[1], geom[2], geom[3], geom[4], geom[5], geom[6]
    cog = cout // groups
    for n in range(n_batch):
        for oy in range(out_h):
            for ox in range(out_w):
                for oc in range(cout):
                    g = oc // cog
                    acc = np.int64(0)
                    for ky in range(kh):
                        iy = oy * sh - pt + ky * dh
                        if iy < 0 or iy >= in_h:
                            continue
                        for kx in range(kw):
                            ix = ox * sw - pl + kx * dw
                            if ix < 0 or ix >= in_w:
                                continue
                            for ic in range(cig):
                                acc += np.int64(x[n, iy, ix, g * cig + ic]) * np.int64(w[oc, ky, kx, ic])
                    out[n, oy, ox, oc] = _store(acc + bias[oc], mult[oc], shift[oc], clamp)


@njit
def depthwise_conv_2d_s16(x, w, bias, mult, shift, geom, clamp, out):
    n_batch, in_h, in_w, _ = x.shape
    kh, kw, cout = w.shape
    _, out_h, out_w, _ = out.shape
    sh, sw, dh, dw, pt, pl, dm = geom[0], geom[1], geom[2], geom[3], geom[4], geom[5], geom[6]
    for n in range(n_batch):
        for oy in range(out_h):
            for ox in range(out_w):
                for c in range(cout):
                    acc = np.int64(0)
                    for ky in range(kh):
                        iy = oy * sh - pt + ky * dh
                        if iy < 0 or iy >= in_h:
                            continue
                        for kx in range(kw):
                            ix = ox * sw - pl + kx * dw
                            if ix < 0 or ix >= in_w:
                                continue
                            acc += np.int64(x[n, iy, ix, c // dm]) * np.int64(w[ky, kx, c])
                    out[n, oy, ox, c] = _store(acc + bias[c], mult[c], shift[c], clamp)


@njit
def fully_connected_s16(x, w, bias, mult, shift, clamp, out):
    n_batch, k_len = x.shape
    cout = w.shape[0]
    for n in range(n_batch):
        for oc in range(cout):
            acc = np.int64(0)
            for k in range(k_len):
                acc += np.int64(x[n, k]) * np.int64(w[oc, k])
            out[n, oc] = _store(acc + bias[oc], mult[oc], shift[oc], clamp)


@njit
def transpose_conv_s16(x, w, bias, mult, shift, geom, clamp, acc, out):
    """geom = [stride_h, stride_w, pad_top, pad_left]; acc: an int64 [OH, OW, C_out] scratch image."""
    n_batch, in_h, in_w, in_c = x.shape
    cout, kh, kw, _ = w.shape
    _, out_h, out_w, _ = out.shape
    for n in range(n_batch):
        acc[:] = 0
        for iy in range(in_h):
            for ix in range(in_w):
                for ky in range(kh):
                    oy = iy * geom[0] - geom[2] + ky
                    if oy < 0 or oy >= out_h:
                        continue
                    for kx in range(kw):
                        ox = ix * geom[1] - geom[3] + kx
                        if ox < 0 or ox >= out_w:
                            continue
                        for co in range(cout):
                            s = np.int64(0)
                            for ci in range(in_c):
                                s += np.int64(x[n, iy, ix, ci]) * np.int64(w[co, ky, kx, ci])
                            acc[oy, ox, co] += s
        for oy in range(out_h):
            for ox in range(out_w):
                for co in range(cout):
                    out[n, oy, ox, co] = _store(acc[oy, ox, co] + bias[co], mult[co], shift[co], clamp)


@njit
def requantize_any(x, q, out):
    """4-D views; q = [input_offset, output_offset, multiplier, shift, out_min, out_max]."""
    n_b, h, w, c_n = out.shape
    for n in range(n_b):
        for y in range(h):
            for xx in range(w):
                for c in range(c_n):
                    v = mbqm(np.int64(x[n, y, xx, c]) + q[0], q[2], q[3]) + q[1]
                    out[n, y, xx, c] = max(min(v, q[5]), q[4])


@njit
def leaky_relu_s16(x, q, out):
    """Flat views; q = [input_offset, output_offset, m_identity, s_identity, m_alpha, s_alpha]."""
    for i in range(x.size):
        v = np.int64(x[i]) + q[0]
        r = mbqm(v, q[2], q[3]) if v >= 0 else mbqm(v, q[4], q[5])
        out[i] = max(min(r + q[1], 32767), -32768)


@njit
def sigmoid_tanh_s16(x, table, q, out):
    """Flat views; q = [input_multiplier, input_left_shift, tanh (0/1)]; TFLite's int16 LUT
    logistic / tanh (reference: tinycnn/reference/int16_ops.sigmoid_tanh_16)."""
    mult, lshift = q[0], q[1]
    if mult == 0:
        mult, lshift = np.int64(3) << lshift, np.int64(0)
    rnd = (np.int64(1) << (lshift - 1)) if lshift > 0 else np.int64(0)
    fb = np.int64(8) if q[2] else np.int64(9)
    for k in range(x.size):
        v = (np.int64(x[k]) * mult + rnd) >> lshift
        a = abs(v)
        uh = a >> fb
        if uh >= 255:
            r = np.int64(0xFFFF << 8) if q[2] else np.int64(0x7FFF << 10)
        else:
            r = (table[uh] << fb) + (a & ((np.int64(1) << fb) - 1)) * (table[uh + 1] - table[uh])
        if q[2]:
            r = (r - (1 << 23) + (1 << 7)) if v >= 0 else (-r + (1 << 23) + (1 << 7) - 1)
            out[k] = r >> 8
        else:
            r = (r + (1 << 9)) if v >= 0 else ((1 << 25) - r + (1 << 9) - 1)
            out[k] = r >> 10


# ---------------- binders ----------------

def _weighted_args(node, ins):
    x, w, b = ins
    a, p = node.attrs, node.params
    clamp = np.array([a["output_offset"], a["act_min"], a["act_max"]], np.int64)
    return (x, w, np.ascontiguousarray(b, np.int64), np.ascontiguousarray(p["output_multiplier"], np.int32),
            np.ascontiguousarray(p["output_shift"], np.int32), clamp)


def _geom(a, last):
    return np.array(list(a["stride"]) + list(a.get("dilation", [1, 1])) + list(a["pad"][:2]) + [last], np.int64)


def bind_conv(graph, node, ins, out, scratch):
    x, w, b, m, s, clamp = _weighted_args(node, ins)
    geom = _geom(node.attrs, node.attrs.get("groups", 1))
    return lambda: conv_2d_s16(x, w, b, m, s, geom, clamp, out)


def bind_dw(graph, node, ins, out, scratch):
    x, w, b, m, s, clamp = _weighted_args(node, ins)
    geom = _geom(node.attrs, node.attrs.get("depth_multiplier", 1))
    return lambda: depthwise_conv_2d_s16(x, w, b, m, s, geom, clamp, out)


def bind_fc(graph, node, ins, out, scratch):
    x, w, b, m, s, clamp = _weighted_args(node, ins)
    x2 = x.reshape(x.shape[0], -1)
    return lambda: fully_connected_s16(x2, w, b, m, s, clamp, out)


def bind_transpose_conv(graph, node, ins, out, scratch):
    x, w, b, m, s, clamp = _weighted_args(node, ins)
    geom = np.array(list(node.attrs["stride"]) + list(node.attrs["pad"][:2]), np.int64)
    acc = scratch(out.shape[1:], np.int64)
    return lambda: transpose_conv_s16(x, w, b, m, s, geom, clamp, acc, out)


def _requant_q(off_in, off_out, m, s, out):
    info = np.iinfo(out.dtype)
    return np.array([off_in, off_out, m, s, info.min, info.max], np.int64)


def bind_requant(graph, node, ins, out, scratch):
    a = node.attrs
    q = _requant_q(a["input_offset"], a["output_offset"], a["output_multiplier"], a["output_shift"], out)
    x4, o4 = as4d(ins[0]), as4d(out)
    return lambda: requantize_any(x4, q, o4)


def bind_leaky_relu(graph, node, ins, out, scratch):
    a = node.attrs
    q = np.array([a["input_offset"], a["output_offset"], a["output_multiplier_1"], a["output_shift_1"],
                  a["output_multiplier_2"], a["output_shift_2"]], np.int64)
    x, o = ins[0].reshape(-1), out.reshape(-1)
    return lambda: leaky_relu_s16(x, q, o)


def _bind_sigmoid_tanh(node, ins, out, tanh):
    from tinycnn.reference.int16_ops import SIGMOID_TABLE_UINT16
    q = np.array([node.attrs["input_multiplier"], node.attrs["input_left_shift"], int(tanh)], np.int64)
    x, o = ins[0].reshape(-1), out.reshape(-1)
    return lambda: sigmoid_tanh_s16(x, SIGMOID_TABLE_UINT16, q, o)


def bind_sigmoid(graph, node, ins, out, scratch):
    return _bind_sigmoid_tanh(node, ins, out, False)


def bind_tanh(graph, node, ins, out, scratch):
    return _bind_sigmoid_tanh(node, ins, out, True)


def bind_mean(graph, node, ins, out, scratch):
    a = node.attrs
    q = np.array([a["input_offset"], a["output_offset"], a["output_multiplier"], a["output_shift"],
                  -32768, 32767], np.int64)
    acc = scratch(ins[0].shape[3], np.int64)
    return lambda: pool.mean_hw(ins[0], q, acc, out)


def bind_concat(graph, node, ins, out, scratch):
    axis, start, steps = node.attrs["axis"], 0, []
    for x, (off, m, s) in zip(ins, node.params["requant"]):
        index = [slice(None)] * out.ndim
        index[axis] = slice(start, start + x.shape[axis])
        dst = out[tuple(index)]
        start += x.shape[axis]
        if m == 0:
            steps.append((np.copyto, (dst, x)))
        else:
            q = _requant_q(off, node.attrs["output_offset"], m, s, out)
            steps.append((requantize_any, (as4d(x), q, as4d(dst))))

    def run():
        for fn, args in steps:
            fn(*args)
    return run
