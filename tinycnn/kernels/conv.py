"""int8 convolutions (TFLite Micro reference semantics), Numba-compiled.

conv_2d_s8: general kernel (strides, dilation, padding, groups). Per output pixel the patch
is gathered once into a scratch row of (x + input_offset) values — zero where the window
leaves the input — and dotted with each output channel's contiguous weight row
(CMSIS-NN's im2col approach). conv_1x1_s8 is the fast path for 1x1/stride 1/no padding.

Arguments: geom = [stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, groups];
quant = [input_offset, output_offset, act_min, act_max]; scratch: int32[KH*KW*Cin/groups].
"""
from __future__ import annotations

import numpy as np

from tinycnn.fixedpoint import multiply_by_quantized_multiplier as mbqm
from tinycnn.jit import njit


@njit
def _requant_store(acc, mult, shift, quant):
    v = mbqm(acc, mult, shift) + quant[1]
    if v < quant[2]:
        v = quant[2]
    if v > quant[3]:
        v = quant[3]
    return v


@njit
def conv_2d_s8(x, w, bias, mult, shift, geom, quant, scratch, out):
    n_batch, in_h, in_w, in_c = x.shape
    cout, kh, kw, cig = w.shape
    _, out_h, out_w, _ = out.shape
    sh, sw, dh, dw, pt, pl, groups = geom[0], geom[1], geom[2], geom[3], geom[4], geom[5], geom[6]
    cog = cout // groups
    in_off = np.int32(quant[0])
    k_len = kh * kw * cig
    for n in range(n_batch):
        for oy in range(out_h):
            for ox in range(out_w):
                for g in range(groups):
                    # gather the patch of group g
                    k = 0
                    for ky in range(kh):
                        iy = oy * sh - pt + ky * dh
                        for kx in range(kw):
                            ix = ox * sw - pl + kx * dw
                            if iy < 0 or iy >= in_h or ix < 0 or ix >= in_w:
                                for ic in range(cig):
                                    scratch[k + ic] = 0
                            else:
                                for ic in range(cig):
                                    scratch[k + ic] = np.int32(x[n, iy, ix, g * cig + ic]) + in_off
                            k += cig
                    for oc in range(g * cog, (g + 1) * cog):
                        wrow = w[oc].reshape(k_len)
                        acc = np.int32(0)
                        for i in range(k_len):
                            acc += scratch[i] * np.int32(wrow[i])
                        out[n, oy, ox, oc] = _requant_store(acc + bias[oc], mult[oc], shift[oc], quant)


@njit
def conv_1x1_s8(x, w, bias, mult, shift, quant, out):
    """1x1 kernel, stride 1, no padding, groups 1: a per-pixel matrix-vector product."""
    n_batch, h, wd, cin = x.shape
    cout = w.shape[0]
    in_off = np.int32(quant[0])
    w2 = w.reshape(cout, cin)
    # sum(w) * input_offset folded per channel: acc = sum(x*w) + in_off*sum(w)
    for n in range(n_batch):
        for y in range(h):
            for xx in range(wd):
                px = x[n, y, xx]
                for oc in range(cout):
                    acc = np.int32(0)
                    for ic in range(cin):
                        acc += (np.int32(px[ic]) + in_off) * np.int32(w2[oc, ic])
                    out[n, y, xx, oc] = _requant_store(acc + bias[oc], mult[oc], shift[oc], quant)


@njit
def depthwise_conv_2d_s8(x, w, bias, mult, shift, geom, quant, acc, out):
    """Depth multiplier 1. geom = [stride_h, stride_w, dilation_h, dilation_w, pad_top,
    pad_left, 1]; acc: int32[OW, C] scratch holding one output row, so the innermost loop
    runs over contiguous channels and vectorizes."""
    n_batch, in_h, in_w, in_c = x.shape
    kh, kw, cout = w.shape
    _, out_h, out_w, _ = out.shape
    sh, sw, dh, dw, pt, pl = geom[0], geom[1], geom[2], geom[3], geom[4], geom[5]
    in_off = np.int32(quant[0])
    for n in range(n_batch):
        for oy in range(out_h):
            for ox in range(out_w):
                for c in range(cout):
                    acc[ox, c] = bias[c]
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
                            a[c] += (np.int32(xp[c]) + in_off) * np.int32(wv[c])
            for ox in range(out_w):
                for c in range(cout):
                    v = mbqm(acc[ox, c], mult[c], shift[c]) + quant[1]
                    out[n, oy, ox, c] = max(min(v, quant[3]), quant[2])


@njit
def depthwise_conv_2d_mult_s8(x, w, bias, mult, shift, geom, quant, acc, out):
    """Any depth multiplier dm (geom[6]): output channel c reads input channel c // dm."""
    n_batch, in_h, in_w, in_c = x.shape
    kh, kw, cout = w.shape
    _, out_h, out_w, _ = out.shape
    sh, sw, dh, dw, pt, pl, dm = geom[0], geom[1], geom[2], geom[3], geom[4], geom[5], geom[6]
    in_off = np.int32(quant[0])
    for n in range(n_batch):
        for oy in range(out_h):
            for ox in range(out_w):
                for c in range(cout):
                    acc[ox, c] = bias[c]
            for ky in range(kh):
                iy = oy * sh - pt + ky * dh
                if iy < 0 or iy >= in_h:
                    continue
                for kx in range(kw):
                    for ox in range(out_w):
                        ix = ox * sw - pl + kx * dw
                        if ix < 0 or ix >= in_w:
                            continue
                        for c in range(cout):
                            acc[ox, c] += (np.int32(x[n, iy, ix, c // dm]) + in_off) * np.int32(w[ky, kx, c])
            for ox in range(out_w):
                for c in range(cout):
                    v = mbqm(acc[ox, c], mult[c], shift[c]) + quant[1]
                    out[n, oy, ox, c] = max(min(v, quant[3]), quant[2])


@njit
def fully_connected_s8(x, w, bias, mult, shift, quant, out):
    n_batch, k_len = x.shape
    cout = w.shape[0]
    in_off = np.int32(quant[0])
    for n in range(n_batch):
        for oc in range(cout):
            acc = np.int32(0)
            for k in range(k_len):
                acc += (np.int32(x[n, k]) + in_off) * np.int32(w[oc, k])
            out[n, oc] = _requant_store(acc + bias[oc], mult[oc], shift[oc], quant)
