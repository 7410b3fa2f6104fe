"""Binary (1-bit) kernels: XNOR-popcount convolution and fully connected layers, activation
binarization and max pooling on packed words, Numba-compiled, plus their binders.

Packed tensors are uint32 [N, H, W, words] (or [N, words]); bit 1 means -1, bit 0 means +1,
channel c at bit c % 32 of word c // 32, unused bits 0 (tinycnn/bitpack.py, docs/binary.md).

Every binary layer computes, per output pixel and channel, over K logical input bits:
    dot = K - 2 * popcount(a XOR w)
Padding ("SAME" convs): the patch is gathered with all-zero words (= +1) at padded taps.
  pad_mode "one":  that is the semantics, K counts every tap.
  pad_mode "zero": padded taps must contribute 0: K counts only valid taps and the popcounts
                   the zero words added, popcount(w[oc, tap]) (precomputed per channel and tap
                   at bind time, "wpop"), are subtracted: the correction term.
Output transforms (the oracle is tinycnn/reference/binary_int.py):
  packed: bit oc = dot < threshold[oc]  (batch norm + sign fused into one integer compare)
  int8:   q = clamp(output_zero_point + MBQM((dot << dot_shift) + bias_q[oc], output_multiplier[oc],
          output_shift[oc]), act_min, act_max): integer only (tinycnn.quant.binarize.int8_output_affine).
"""
from __future__ import annotations

import numpy as np

from tinycnn.bitpack import pack_int8_s1, popcount32, unpack_bits, words_for
from tinycnn.fixedpoint import multiply_by_quantized_multiplier as mbqm
from tinycnn.jit import njit
from tinycnn.kernels.registry import as4d


# ---------------- per-pixel pieces ----------------

@njit
def _popcounts(xrow, n_words, w2t, dots):
    """dots[oc] = sum_i popcount(xrow[i] XOR w2t[i, oc]). Weights are stored word-major
    ([words, Cout]) so the inner loop runs over contiguous output channels and vectorizes
    (XOR + VPOPCNT + add, 16 channels per instruction) instead of reducing one channel at a time."""
    cout = w2t.shape[1]
    for oc in range(cout):
        dots[oc] = 0
    for i in range(n_words):
        xi = xrow[i]
        wi = w2t[i]
        for oc in range(cout):
            dots[oc] += np.int32(popcount32(xi ^ wi[oc]))  # int32: keeps the loop vectorized


@njit
def _row_dots(xrow, w2t, k_bits, dots):
    """dots[oc] = k_bits - 2 * popcount(xrow XOR w[oc]) over the row's words."""
    _popcounts(xrow, xrow.shape[0], w2t, dots)
    for oc in range(w2t.shape[1]):
        dots[oc] = k_bits - 2 * dots[oc]


@njit
def _conv_pixel_dots(x, n, oy, ox, w2, wpop, geom, kinfo, patch, padded, dots):
    """Gather the packed patch of output pixel (oy, ox) and compute every channel's dot."""
    in_h, in_w, nw = x.shape[1], x.shape[2], x.shape[3]
    sh, sw, dh, dw, pt, pl = geom[0], geom[1], geom[2], geom[3], geom[4], geom[5]
    kh, kw, cin, zero_pad = kinfo[0], kinfo[1], kinfo[2], kinfo[3]
    k = 0
    tap = 0
    n_pad = 0
    for ky in range(kh):
        iy = oy * sh - pt + ky * dh
        for kx in range(kw):
            ix = ox * sw - pl + kx * dw
            if iy < 0 or iy >= in_h or ix < 0 or ix >= in_w:
                for j in range(nw):
                    patch[k + j] = 0
                padded[n_pad] = tap
                n_pad += 1
            else:
                for j in range(nw):
                    patch[k + j] = x[n, iy, ix, j]
            k += nw
            tap += 1
    if zero_pad == 0 or n_pad == 0:
        _row_dots(patch, w2, kh * kw * cin, dots)
        return
    k_bits = (kh * kw - n_pad) * cin
    _popcounts(patch, k, w2, dots)  # padded taps hold 0 words: popcount(w) is subtracted
    for oc in range(w2.shape[1]):
        pc = dots[oc]
        for j in range(n_pad):
            pc -= wpop[oc, padded[j]]
        dots[oc] = k_bits - 2 * pc


@njit
def _store_packed(dots, threshold, out_row):
    cout = dots.shape[0]
    for k in range(out_row.shape[0]):
        word = np.uint32(0)
        base = k * 32
        for j in range(min(32, cout - base)):  # branch-free: the compare is the bit
            word |= np.uint32(dots[base + j] < threshold[base + j]) << np.uint32(j)
        out_row[k] = word


@njit
def _store_int8(dots, affine, oq, out_row):
    """affine [Cout, 3] = (bias_q, output_multiplier, output_shift); oq = [output_zero_point,
    act_min, act_max, dot_shift] (tinycnn.quant.binarize.int8_output_affine: integers only)."""
    for oc in range(dots.shape[0]):
        acc = (np.int64(dots[oc]) << oq[3]) + affine[oc, 0]
        v = mbqm(acc, affine[oc, 1], affine[oc, 2]) + oq[0]
        if v < oq[1]:
            v = oq[1]
        if v > oq[2]:
            v = oq[2]
        out_row[oc] = v


# ---------------- kernels ----------------

@njit
def bconv_2d_to_packed(x, w2, wpop, geom, kinfo, patch, padded, dots, threshold, out):
    n_batch, out_h, out_w = out.shape[0], out.shape[1], out.shape[2]
    for n in range(n_batch):
        for oy in range(out_h):
            for ox in range(out_w):
                _conv_pixel_dots(x, n, oy, ox, w2, wpop, geom, kinfo, patch, padded, dots)
                _store_packed(dots, threshold, out[n, oy, ox])


@njit
def bconv_2d_to_int8(x, w2, wpop, geom, kinfo, patch, padded, dots, affine, oq, out):
    n_batch, out_h, out_w = out.shape[0], out.shape[1], out.shape[2]
    for n in range(n_batch):
        for oy in range(out_h):
            for ox in range(out_w):
                _conv_pixel_dots(x, n, oy, ox, w2, wpop, geom, kinfo, patch, padded, dots)
                _store_int8(dots, affine, oq, out[n, oy, ox])


@njit
def bconv_1x1_to_packed(x, w2, k_bits, dots, threshold, out):
    """1x1 kernel, stride 1, no padding: the pixel's words are the patch (no gather)."""
    n_batch, h, w = x.shape[0], x.shape[1], x.shape[2]
    for n in range(n_batch):
        for y in range(h):
            for xx in range(w):
                _row_dots(x[n, y, xx], w2, k_bits, dots)
                _store_packed(dots, threshold, out[n, y, xx])


@njit
def bconv_1x1_to_int8(x, w2, k_bits, dots, affine, oq, out):
    n_batch, h, w = x.shape[0], x.shape[1], x.shape[2]
    for n in range(n_batch):
        for y in range(h):
            for xx in range(w):
                _row_dots(x[n, y, xx], w2, k_bits, dots)
                _store_int8(dots, affine, oq, out[n, y, xx])


@njit
def _bconv_row_popcounts(x, n, oy, w3t, wpop_t, geom, kinfo, acc, n_pad):
    """Host fast path: popcounts of one whole output row, tap by tap. acc[ox, oc] accumulates
    popcount(x XOR w) with the innermost loop over contiguous output channels (vectorized
    XOR + VPOPCNT + add); no per-pixel gather. Padded taps: skipped and counted in n_pad
    (zero padding: they contribute 0 to the dot) or charged popcount(w) (padding with +1,
    bit 0: popcount(0 XOR w) = popcount(w))."""
    in_h, in_w, nw = x.shape[1], x.shape[2], x.shape[3]
    sh, sw, dh, dw, pt, pl = geom[0], geom[1], geom[2], geom[3], geom[4], geom[5]
    kh, kw, zero_pad = kinfo[0], kinfo[1], kinfo[3]
    out_w, cout = acc.shape[0], acc.shape[1]
    for ox in range(out_w):
        n_pad[ox] = 0
        for oc in range(cout):
            acc[ox, oc] = 0
    for ky in range(kh):
        iy = oy * sh - pt + ky * dh
        for kx in range(kw):
            t = ky * kw + kx
            for ox in range(out_w):
                ix = ox * sw - pl + kx * dw
                a = acc[ox]
                if iy < 0 or iy >= in_h or ix < 0 or ix >= in_w:
                    if zero_pad:
                        n_pad[ox] += 1
                    else:
                        wp = wpop_t[t]
                        for oc in range(cout):
                            a[oc] += wp[oc]
                    continue
                xp = x[n, iy, ix]
                for i in range(nw):
                    xi = xp[i]
                    wi = w3t[t, i]
                    for oc in range(cout):
                        a[oc] += np.int32(popcount32(xi ^ wi[oc]))


@njit
def bconv_2d_rows_to_packed(x, w3t, wpop_t, geom, kinfo, acc, n_pad, dots, threshold, out):
    kh, kw, cin = kinfo[0], kinfo[1], kinfo[2]
    for n in range(out.shape[0]):
        for oy in range(out.shape[1]):
            _bconv_row_popcounts(x, n, oy, w3t, wpop_t, geom, kinfo, acc, n_pad)
            for ox in range(out.shape[2]):
                k_bits = (kh * kw - n_pad[ox]) * cin
                for oc in range(acc.shape[1]):
                    dots[oc] = k_bits - 2 * acc[ox, oc]
                _store_packed(dots, threshold, out[n, oy, ox])


@njit
def bconv_2d_rows_to_int8(x, w3t, wpop_t, geom, kinfo, acc, n_pad, dots, affine, oq, out):
    kh, kw, cin = kinfo[0], kinfo[1], kinfo[2]
    for n in range(out.shape[0]):
        for oy in range(out.shape[1]):
            _bconv_row_popcounts(x, n, oy, w3t, wpop_t, geom, kinfo, acc, n_pad)
            for ox in range(out.shape[2]):
                k_bits = (kh * kw - n_pad[ox]) * cin
                for oc in range(acc.shape[1]):
                    dots[oc] = k_bits - 2 * acc[ox, oc]
                _store_int8(dots, affine, oq, out[n, oy, ox])


@njit
def bfc_to_packed(x, w2, k_bits, dots, threshold, out):
    for n in range(x.shape[0]):
        _row_dots(x[n], w2, k_bits, dots)
        _store_packed(dots, threshold, out[n])


@njit
def bfc_to_int8(x, w2, k_bits, dots, affine, oq, out):
    for n in range(x.shape[0]):
        _row_dots(x[n], w2, k_bits, dots)
        _store_int8(dots, affine, oq, out[n])


@njit
def binary_max_pool_2d(x, geom, word_mask, out):
    """Max of +-1 values = -1 only if every value is -1: a bitwise AND of the window's words
    (bit 1 = -1). Padded positions are skipped (they never win, as -inf padding)."""
    n_batch, in_h, in_w, nw = x.shape
    _, out_h, out_w, _ = out.shape
    kh, kw, sh, sw, pt, pl = geom[0], geom[1], geom[2], geom[3], geom[4], geom[5]
    for n in range(n_batch):
        for oy in range(out_h):
            for ox in range(out_w):
                for j in range(nw):
                    acc = word_mask[j]
                    for ky in range(kh):
                        iy = oy * sh - pt + ky
                        if iy < 0 or iy >= in_h:
                            continue
                        for kx in range(kw):
                            ix = ox * sw - pl + kx
                            if 0 <= ix < in_w:
                                acc &= x[n, iy, ix, j]
                    out[n, oy, ox, j] = acc


@njit
def conv_2d_to_packed(x, w, bias, geom, in_off, scratch, out):
    """Conv whose only reader binarizes it: bit oc = (accumulator < 0), i.e. the sign of the
    real output in_scale * w_scale[oc] * acc, taken before any output rounding (an int8
    output would first round values within half a step of 0 to 0). x int8 or int16, w int8
    or int16 (tinycnn.quant.binarize makes them int16), bias int32/int64; the accumulation is
    int64 (exact). geom as conv_2d_s8; scratch int64 [KH*KW*Cin] (one im2col column)."""
    n_batch, in_h, in_w, _ = x.shape
    cout, kh, kw, cin = w.shape
    _, out_h, out_w, nw = out.shape
    sh, sw, dh, dw, pt, pl = geom[0], geom[1], geom[2], geom[3], geom[4], geom[5]
    k_len = kh * kw * cin
    w2 = w.reshape(cout, k_len)
    off = np.int64(in_off)
    for n in range(n_batch):
        for oy in range(out_h):
            for ox in range(out_w):
                k = 0
                for ky in range(kh):
                    iy = oy * sh - pt + ky * dh
                    for kx in range(kw):
                        ix = ox * sw - pl + kx * dw
                        inside = 0 <= iy < in_h and 0 <= ix < in_w
                        for ic in range(cin):
                            scratch[k + ic] = (np.int64(x[n, iy, ix, ic]) + off) if inside else np.int64(0)
                        k += cin
                for j in range(nw):
                    word = np.uint32(0)
                    for oc in range(j * 32, min(cout, (j + 1) * 32)):
                        acc = np.int64(bias[oc])
                        for i in range(k_len):
                            acc += scratch[i] * np.int64(w2[oc, i])
                        if acc < 0:
                            word |= np.uint32(1) << np.uint32(oc - j * 32)
                    out[n, oy, ox, j] = word


# ---------------- binders (plan time: all argument packing happens once) ----------------

def weight_popcounts(w_packed: np.ndarray, cin: int) -> np.ndarray:
    """popcount(w[oc, ky, kx, :]) as int32 [Cout, KH*KW] (the zero-padding correction)."""
    bits = unpack_bits(w_packed, cin)
    return np.ascontiguousarray(bits.reshape(bits.shape[0], -1, cin).sum(axis=2), np.int32)


def _transform_args(node):
    """(store_kind, extra args) for the node's output mode."""
    a, p = node.attrs, node.params
    if a["output_mode"] == "packed":
        return "packed", (np.ascontiguousarray(p["threshold"]),)
    affine = np.ascontiguousarray(np.stack([p["bias_q"], p["output_multiplier"], p["output_shift"]], 1), np.int64)
    oq = np.array([a["output_zero_point"], a["act_min"], a["act_max"], a["dot_shift"]], np.int64)
    return "int8", (affine, oq)


def bind_bconv_host(graph, node, ins, out, scratch):
    return _bind_bconv(graph, node, ins, out, scratch, device=False)


def bind_bconv_device(graph, node, ins, out, scratch):
    return _bind_bconv(graph, node, ins, out, scratch, device=True)


def _bind_bconv(graph, node, ins, out, scratch, device):
    x, w = ins[0], ins[1]
    a = node.attrs
    cout, kh, kw, nw = w.shape
    cin = a["in_channels"]
    w2 = np.ascontiguousarray(w.reshape(cout, kh * kw * nw).T)  # word-major [words, Cout]
    kind, extra = _transform_args(node)
    k_words = kh * kw * nw
    buf = scratch(k_words + cout + kh * kw, np.uint32)
    patch, dots = buf[:k_words], buf[k_words:k_words + cout].view(np.int32)
    padded = buf[k_words + cout:].view(np.int32)
    if (kh, kw) == (1, 1) and list(a["stride"]) == [1, 1] and not any(a["pad"]):
        fn = bconv_1x1_to_packed if kind == "packed" else bconv_1x1_to_int8
        k_bits = np.int64(cin)
        return lambda: fn(x, w2, k_bits, dots, *extra, out)
    geom = np.array(list(a["stride"]) + list(a.get("dilation", [1, 1])) + list(a["pad"][:2]), np.int64)
    kinfo = np.array([kh, kw, cin, 1 if a.get("pad_mode", "zero") == "zero" else 0], np.int64)
    wpop = weight_popcounts(w, cin)
    if not device:  # host: row-buffered, channel-vectorized kernel
        w3t = np.ascontiguousarray(w.reshape(cout, kh * kw, nw).transpose(1, 2, 0))  # [taps, words, Cout]
        wpop_t = np.ascontiguousarray(wpop.T)  # [taps, Cout]
        acc = scratch((out.shape[2], cout), np.int32, host_only=True)
        n_pad = scratch(out.shape[2], np.int32, host_only=True)
        rows = bconv_2d_rows_to_packed if kind == "packed" else bconv_2d_rows_to_int8
        return lambda: rows(x, w3t, wpop_t, geom, kinfo, acc, n_pad, dots, *extra, out)
    fn = bconv_2d_to_packed if kind == "packed" else bconv_2d_to_int8
    return lambda: fn(x, w2, wpop, geom, kinfo, patch, padded, dots, *extra, out)


def bind_bfc(graph, node, ins, out, scratch):
    x, w = ins[0], ins[1]
    a = node.attrs
    x2 = x.reshape(x.shape[0], -1)
    w2 = np.ascontiguousarray(np.asarray(w).T)  # word-major [words, Cout]
    k_bits = np.int64(a.get("in_pixels", 1) * a["in_channels"])
    kind, extra = _transform_args(node)
    dots = scratch(w.shape[0], np.int32)
    fn = bfc_to_packed if kind == "packed" else bfc_to_int8
    return lambda: fn(x2, w2, k_bits, dots, *extra, out)


def bind_binarize(graph, node, ins, out, scratch):
    x4, o4 = as4d(ins[0]), as4d(out)
    zp = np.int32(node.attrs["input_zero_point"])
    return lambda: pack_int8_s1(x4, zp, o4)


def bind_bmaxpool(graph, node, ins, out, scratch):
    a = node.attrs
    geom = np.array(list(a["kernel"]) + list(a["stride"]) + list(a["pad"][:2]), np.int64)
    c, nw = a["channels"], words_for(a["channels"])
    mask = np.full(nw, 0xFFFFFFFF, np.uint32)
    if c % 32:
        mask[-1] = np.uint32((1 << (c % 32)) - 1)
    return lambda: binary_max_pool_2d(ins[0], geom, mask, out)


def bind_conv_packed(graph, node, ins, out, scratch):
    """CONV_2D with attrs output_mode "packed" (sign fused by tinycnn.quant.binarize:
    int8/int16 input, int16 weights, int64 bias)."""
    x, w, b = ins
    a = node.attrs
    geom = np.array(list(a["stride"]) + list(a.get("dilation", [1, 1])) + list(a["pad"][:2]), np.int64)
    col = scratch(int(np.prod(w.shape[1:])), np.int64)
    bias, in_off = np.ascontiguousarray(b, np.int64), np.int64(a["input_offset"])
    return lambda: conv_2d_to_packed(x, w, bias, geom, in_off, col, out)
