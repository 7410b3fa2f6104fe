

# ---------------------------------------------------------------- segmentation / detection ops
# RESIZE_BILINEAR, TRANSPOSE_CONV, REDUCE_MEAN, ARG_MAX / ARG_MIN, DEPTH_TO_SPACE, SPACE_TO_DEPTH,
# STRIDED_SLICE (int8; the movement ops and ARG_* also int16): the integer semantics of docs/ops.md,
# as tinycnn/kernels/resample.py and tinycnn/reference/{resize_bilinear,movement,reduce}.py.
_ARENA_TYPE["int32"] = "i"  # ARG_MAX / ARG_MIN indices


def _cdiv(a, b):
    """C integer division (truncates toward zero)."""
    return a // b if a >= 0 else -((-a) // b)


def _resize_coords(in_size, out_size, align, half):
    """TFLite ResizeBilinearInteger: (10-bit position, lower, upper) per output index."""
    if align and out_size > 1:
        s10 = (1024 * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    else:
        s10 = (1024 * in_size + out_size // 2) // out_size
    off = s10 // 2 - 512 if half else 0
    out = []
    for i in range(out_size):
        p = i * s10 + off
        out.append((p, max(_cdiv(p, 1024), 0), min(_cdiv(p + 1023, 1024), in_size - 1)))
    return out


def _resize_bilinear(x, xo, iw, c_n, ys, xs, lo, hi, o, oo):
    row = iw * c_n
    for py, y0, y1 in ys:
        fy = py - 1024 * y0
        r0, r1 = xo + y0 * row, xo + y1 * row
        for px, x0, x1 in xs:
            fx = px - 1024 * x0
            w00, w10 = (1024 - fy) * (1024 - fx), fy * (1024 - fx)
            w01, w11 = (1024 - fy) * fx, fy * fx
            a, b = x0 * c_n, x1 * c_n
            for c in range(c_n):
                acc = (x[r0 + a + c] * w00 + x[r1 + a + c] * w10 + x[r0 + b + c] * w01 + x[r1 + b + c] * w11)
                v = (acc + 524288) >> 20 if acc > 0 else -((524288 - acc) >> 20)
                o[oo] = lo if v < lo else (hi if v > hi else v)
                oo += 1


def _tconv(x, xo, w, wo, b, g, in_off, r, acc, xv, o, oo):
    """TFLM transpose_conv int8: scatter every input pixel's products into one int32
    accumulator image [OH, OW, C_out], then bias + requantize (w is [C_out, KH, KW, C_in])."""
    ih, iw, cin, oh, ow, cout, kh, kw, sh, sw, pt, pl = g
    _, mult, shift, out_off, lo, hi = r
    n = oh * ow * cout
    for i in range(n):
        acc[i] = 0
    rc = range(cin)
    kk = kh * kw * cin
    for iy in range(ih):
        for ix in range(iw):
            xb = xo + (iy * iw + ix) * cin
            for ci in rc:
                xv[ci] = x[xb + ci] + in_off
            for ky in range(kh):
                oy = iy * sh - pt + ky
                if oy < 0 or oy >= oh:
                    continue
                for kx in range(kw):
                    ox = ix * sw - pl + kx
                    if ox < 0 or ox >= ow:
                        continue
                    ab = (oy * ow + ox) * cout
                    wb = wo + (ky * kw + kx) * cin
                    for co in range(cout):
                        s = 0
                        for ci in rc:
                            s += xv[ci] * w[wb + ci]
                        acc[ab + co] += s
                        wb += kk
    p = 0
    for _ in range(oh * ow):
        for co in range(cout):
            v = _mbqe(acc[p] + b[co], mult[co], shift[co]) + out_off
            o[oo + p] = lo if v < lo else (hi if v > hi else v)
            p += 1


def _reduce_mean(x, xo, outer, red, inner, in_off, mult, shift, out_off, o, oo):
    """mult: e = output_multiplier - 2**30 (_mbqe)."""
    for a in range(outer):
        base = xo + a * red * inner
        for i in range(inner):
            s = in_off * red
            p = base + i
            for _ in range(red):
                s += x[p]
                p += inner
            v = _mbqe(s, mult, shift) + out_off
            o[oo] = -128 if v < -128 else (127 if v > 127 else v)
            oo += 1


def _arg(x, xo, outer, red, inner, sign, o, oo):
    """Index of the first maximum (sign 1) or minimum (sign -1) along the reduced axis."""
    for a in range(outer):
        base = xo + a * red * inner
        for i in range(inner):
            p = base + i
            best, idx = x[p], 0
            for r in range(1, red):
                p += inner
                v = x[p]
                if (v > best) if sign > 0 else (v < best):
                    best, idx = v, r
            o[oo] = idx
            oo += 1


def _outer_red_inner(shape, axes):
    lo, hi = min(axes), max(axes)
    return _prod(shape[:lo]), _prod(shape[lo:hi + 1]), _prod(shape[hi + 1:])


@_binder("RESIZE_BILINEAR")
def _b_resize_bilinear(m, node, a):
    x, xo, o, oo, n = _unary(m, node)
    _, ih, iw, c = _as4d(m._shape(node[2][0]))
    _, oh, ow, c2 = _as4d(m._shape(node[3][0]))
    if c != c2 or [oh, ow] != list(a["size"]):
        m._fail(node, "output shape does not match the size attribute and the channels")
    align, half = bool(a.get("align_corners")), bool(a.get("half_pixel_centers"))
    ys, xs = _resize_coords(ih, oh, align, half), _resize_coords(iw, ow, align, half)
    lo, hi = _out_range(m, node)
    return lambda: _resize_bilinear(x, xo, iw, c, ys, xs, lo, hi, o, oo)


@_binder("TRANSPOSE_CONV")
def _b_tconv(m, node, a):
    if a.get("kernel_variant") == "int16x8":  # int64 accumulators: no kernel here yet
        m._fail(node, "not supported by tinycnn_mp (TRANSPOSE_CONV/int16x8)")
    ins = node[2]
    x, xo = m._in(ins[0])
    w, wo = m._in(ins[1])
    _, ih, iw, cin = _as4d(m._shape(ins[0]))
    cout, kh, kw, wcin = m._shape(ins[1])
    _, oh, ow, c2 = _as4d(m._shape(node[3][0]))
    if wcin != cin or c2 != cout:
        m._fail(node, "weights do not match the input and output channels")
    b = m._in(ins[2])[0] if len(ins) > 2 and ins[2] >= 0 else [0] * cout
    st, pd = a["stride"], a["pad"]
    g = (ih, iw, cin, oh, ow, cout, kh, kw, st[0], st[1], pd[0], pd[1])
    r = (3, _mbq_prepare(m._param(node, "output_multiplier")), m._param(node, "output_shift"), a["output_offset"],
         a["act_min"], a["act_max"])
    acc = _zeros("i", oh * ow * cout)  # TFLM's scratch: one int32 accumulator image
    xv = _zeros("i", cin)
    m.scratch_bytes += 4 * (len(acc) + cin)
    o, oo = m._views[node[3][0]]
    in_off = a["input_offset"]
    return lambda: _tconv(x, xo, w, wo, b, g, in_off, r, acc, xv, o, oo)


@_binder("REDUCE_MEAN")
def _b_reduce_mean(m, node, a):
    x, xo = m._in(node[2][0])
    o, oo = m._views[node[3][0]]
    outer, red, inner = _outer_red_inner(m._shape(node[2][0]), a["axes"])
    args = (x, xo, outer, red, inner, a["input_offset"], a["output_multiplier"] - 1073741824, a["output_shift"],
            a["output_offset"], o, oo)
    return lambda: _reduce_mean(*args)


@_binder("ARG_MAX", "ARG_MIN")
def _b_arg(m, node, a):
    x, xo = m._in(node[2][0])
    o, oo = m._views[node[3][0]]
    outer, red, inner = _outer_red_inner(m._shape(node[2][0]), [a["axis"]])
    sign = 1 if node[0] == "ARG_MAX" else -1
    return lambda: _arg(x, xo, outer, red, inner, sign, o, oo)


def _b_blocks(m, node, a, to_space):
    x, xo, o, oo, n = _unary(m, node)
    s = _as4d(m._shape(node[2][0] if to_space else node[3][0]))  # the depth-side shape
    b = a["block"]
    _, h, w, c = s
    co = c // (b * b)
    crd = to_space and a.get("mode", "DCR") == "CRD"  # SPACE_TO_DEPTH has one layout
    if co * b * b != c:
        m._fail(node, "channels are not a multiple of block^2")
    dp, sp = (x, xo), (o, oo)
    if not to_space:
        dp, sp = sp, dp

    def run():
        (d, do), (s_, so) = dp, sp
        for y in range(h):
            for i in range(b):
                for xx in range(w):
                    for j in range(b):
                        dpos = do + (y * w + xx) * c
                        spos = so + ((y * b + i) * w * b + xx * b + j) * co
                        if crd:
                            k = i * b + j
                            for cc in range(co):
                                if to_space:
                                    s_[spos + cc] = d[dpos + cc * b * b + k]
                                else:
                                    d[dpos + cc * b * b + k] = s_[spos + cc]
                        elif to_space:
                            _copy(d, dpos + (i * b + j) * co, s_, spos, co)
                        else:
                            _copy(s_, spos, d, dpos + (i * b + j) * co, co)
    return run


@_binder("DEPTH_TO_SPACE")
def _b_d2s(m, node, a):
    return _b_blocks(m, node, a, True)


@_binder("SPACE_TO_DEPTH")
def _b_s2d(m, node, a):
    return _b_blocks(m, node, a, False)


@_binder("STRIDED_SLICE")
def _b_strided_slice(m, node, a):
    x, xo, o, oo, n = _unary(m, node)
    ish, osh = m._shape(node[2][0]), m._shape(node[3][0])
    begin, stride = a["begin"], a["stride"]
    if len(ish) > 4 or len(begin) != len(ish) or len(stride) != len(ish) or len(osh) != len(ish):
        m._fail(node, "rank > 4 or begin/stride of another rank than the input")
    st = _strides(ish)
    base = xo + sum(bg * s for bg, s in zip(begin, st))
    src = [0] * (4 - len(st)) + [s * k for s, k in zip(st, stride)]
    o4 = _pad4(osh)
    return lambda: _gather4(x, base, src, o4, o, oo)
