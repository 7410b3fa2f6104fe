

# ---------------------------------------------------------------- int8 / int16 kernels
# Activations are (buffer, offset) in an arena, NHWC, batch 1. Weights index the blob in place.
# conv geometry g = (ih, iw, cin, oh, ow, cout, kh, kw, sh, sw, dh, dw, pt, pl)
# requant r = (kind, mult, shift, out_offset, lo, hi): kind 0 int8 spec, 1 16x8 (int64), 2 raw acc,
# 3 int8 spec with mult prepared by _mbq_prepare (no big integers: _mbqe)

def _conv(x, xo, w, wo, b, g, groups, in_off, r, o, oo, patch):
    ih, iw, cin, oh, ow, cout, kh, kw, sh, sw, dh, dw, pt, pl = g
    kind, mult, shift, out_off, lo, hi = r
    cig = cin // groups
    cog = cout // groups
    kk = kh * kw * cig
    rk = range(kk)
    rc = range(cig)
    mbqm = _mbqm64 if kind == 1 else (_mbqe if kind == 3 else _mbqm)
    for oy in range(oh):
        for ox in range(ow):
            po = oo
            if kind == 2:  # sign of the exact accumulator, packed (mult = bytes per pixel)
                for j in range(mult):
                    o[po + j] = 0
            for gi in range(groups):
                k = 0
                for ky in range(kh):
                    iy = oy * sh - pt + ky * dh
                    for kx in range(kw):
                        ix = ox * sw - pl + kx * dw
                        if 0 <= iy < ih and 0 <= ix < iw:
                            base = xo + (iy * iw + ix) * cin + gi * cig
                            for c in rc:
                                patch[k + c] = x[base + c] + in_off
                        else:
                            for c in rc:
                                patch[k + c] = 0
                        k += cig
                for oc in range(gi * cog, gi * cog + cog):
                    acc = b[oc]
                    wb = wo + oc * kk
                    for i in rk:
                        acc += patch[i] * w[wb + i]
                    if kind == 2:
                        if acc < 0:
                            o[po + (oc >> 3)] |= 1 << (oc & 7)
                        continue
                    v = mbqm(acc, mult[oc], shift[oc]) + out_off
                    o[oo] = lo if v < lo else (hi if v > hi else v)
                    oo += 1
            if kind == 2:
                oo += mult


def _taps(start, step, k, size):
    """[k0, k1): the kernel taps whose input position start + t * step lies in [0, size)."""
    k0 = 0
    while k0 < k and start + k0 * step < 0:
        k0 += 1
    k1 = k
    while k1 > k0 and start + (k1 - 1) * step >= size:
        k1 -= 1
    return k0, k1


def _dwconv(x, xo, w, wo, b, g, dm, in_off, r, o, oo):
    ih, iw, cin, oh, ow, cout, kh, kw, sh, sw, dh, dw, pt, pl = g
    kind, mult, shift, out_off, lo, hi = r
    mbqm = _mbqm64 if kind == 1 else (_mbqe if kind == 3 else _mbqm)
    for oy in range(oh):
        y0 = oy * sh - pt
        ky0, ky1 = _taps(y0, dh, kh, ih)
        for ox in range(ow):
            x0 = ox * sw - pl
            kx0, kx1 = _taps(x0, dw, kw, iw)
            for c in range(cout):
                acc = b[c]
                ci = xo + c // dm
                for ky in range(ky0, ky1):
                    xrow = ci + (y0 + ky * dh) * iw * cin
                    wrow = wo + ky * kw * cout + c
                    for kx in range(kx0, kx1):
                        acc += (x[xrow + (x0 + kx * dw) * cin] + in_off) * w[wrow + kx * cout]
                v = mbqm(acc, mult[c], shift[c]) + out_off
                o[oo] = lo if v < lo else (hi if v > hi else v)
                oo += 1


def _fc(x, xo, kk, w, wo, b, cout, in_off, r, o, oo):
    kind, mult, shift, out_off, lo, hi = r
    mbqm = _mbqm64 if kind == 1 else (_mbqe if kind == 3 else _mbqm)
    rk = range(kk)
    for oc in range(cout):
        acc = b[oc]
        wb = wo + oc * kk
        for i in rk:
            acc += (x[xo + i] + in_off) * w[wb + i]
        v = mbqm(acc, mult[oc], shift[oc]) + out_off
        o[oo + oc] = lo if v < lo else (hi if v > hi else v)


def _pool(x, xo, g, is_max, lo, hi, o, oo, half_up=False):  # half_up: legacy uint8 (p7_uint8)
    ih, iw, c_n, oh, ow, _, kh, kw, sh, sw, _, _, pt, pl = g
    for oy in range(oh):
        ya = max(oy * sh - pt, 0)
        yb = min(oy * sh - pt + kh, ih)
        for ox in range(ow):
            xa = max(ox * sw - pl, 0)
            xb = min(ox * sw - pl + kw, iw)
            count = (yb - ya) * (xb - xa)
            for c in range(c_n):
                s = -32769 if is_max else 0  # below every int8 / int16 value (a small int)
                for iy in range(ya, yb):
                    p = xo + (iy * iw + xa) * c_n + c
                    for _ in range(xa, xb):
                        v = x[p]
                        if is_max:
                            if v > s:
                                s = v
                        else:
                            s += v
                        p += c_n
                if not is_max:
                    half = count // 2
                    n = count if count > 0 else 1
                    s = (s + half) // n if s > 0 or half_up else -((half - s) // n)
                o[oo] = lo if s < lo else (hi if s > hi else s)
                oo += 1


def _mean(x, xo, hw, c_n, in_off, mult, shift, out_off, lo, hi, o, oo):
    for c in range(c_n):
        s = in_off * hw
        p = xo + c
        for _ in range(hw):
            s += x[p]
            p += c_n
        v = _mbqe(s, mult, shift) + out_off  # mult: e = m - 2**30 (_b_mean)
        o[oo + c] = lo if v < lo else (hi if v > hi else v)


def _bcast_index(shape, out_shape):
    """Strides (4-D, 0 where broadcast) of a contiguous operand right-aligned to out_shape."""
    shape = [1] * (4 - len(shape)) + list(shape)
    if len(shape) != 4 or any(a != b and a != 1 for a, b in zip(shape, out_shape)):
        return None
    st, acc = [0, 0, 0, 0], 1
    for d in (3, 2, 1, 0):
        st[d] = 0 if shape[d] == 1 and out_shape[d] != 1 else acc
        acc *= shape[d]
    return st


def _binary_elementwise(x1, o1, s1, x2, o2, s2, oshape, fn, q, o, oo):
    n0, n1, n2, n3 = oshape
    for a in range(n0):
        for b_ in range(n1):
            for c in range(n2):
                p1 = o1 + a * s1[0] + b_ * s1[1] + c * s1[2]
                p2 = o2 + a * s2[0] + b_ * s2[1] + c * s2[2]
                for _ in range(n3):
                    o[oo] = fn(x1[p1], x2[p2], q)
                    oo += 1
                    p1 += s1[3]
                    p2 += s2[3]


def _add_one(v1, v2, q):
    off1, off2, ls, m1, sh1, m2, sh2, mo, so, out_off, lo, hi, sign = q
    a = _mbqe((v1 + off1) << ls, m1, sh1)  # m1, m2, mo: e = m - 2**30 (_b_add)
    b = _mbqe((v2 + off2) << ls, m2, sh2)
    v = _mbqe(a + b if sign > 0 else a - b, mo, so) + out_off
    return lo if v < lo else (hi if v > hi else v)


def _mul_one(v1, v2, q):
    off1, off2, mo, so, out_off, lo, hi = q
    v = _mbqm((v1 + off1) * (v2 + off2), mo, so) + out_off
    return lo if v < lo else (hi if v > hi else v)


def _prelu_one(v1, v2, q):
    off, aoff, m1, s1, m2, s2, out_off = q
    v = v1 + off
    if v >= 0:
        r = _mbqm(v, m1, s1)
    else:
        r = _mbqm(v * (v2 + aoff), m2, s2)
    r += out_off
    return -128 if r < -128 else (127 if r > 127 else r)


def _requant(x, xo, n, in_off, mult, shift, out_off, lo, hi, o, oo):
    for i in range(n):
        v = _mbqm(x[xo + i] + in_off, mult, shift) + out_off
        o[oo + i] = lo if v < lo else (hi if v > hi else v)


def _lut(x, xo, n, table, o, oo):
    for i in range(n):
        o[oo + i] = table[x[xo + i] + 128]


def _row_max(x, p, cols):
    m = x[p]
    for c in range(1, cols):
        if x[p + c] > m:
            m = x[p + c]
    return m


def _softmax(x, xo, rows, cols, table, o, oo):
    for r in range(rows):
        p = xo + r * cols
        m = _row_max(x, p, cols)
        total = 0
        for c in range(cols):
            total += table[m - x[p + c]]
        for c in range(cols):
            v = (table[m - x[p + c]] * 512 + total) // (2 * total) - 128
            o[oo + r * cols + c] = -128 if v < -128 else (127 if v > 127 else v)


def _one_over_one_plus_x(a):
    s = a + _I32_MAX
    t = s + (1 if s >= 0 else -1)
    hd = t // 2 if t >= 0 else -((-t) // 2)
    x = _wrap32(1515870810 + _srdhm(hd, -1010580540))
    for _ in range(3):
        p = _srdhm(x, _wrap32(536870912 - _srdhm(hd, x)))
        p = _I32_MAX if p > 536870911 else (_I32_MIN if p < -536870911 else p << 2)
        x = _wrap32(x + p)
    return _I32_MAX if x > 1073741823 else (_I32_MIN if x < -1073741823 else x << 1)


def _softmax_tflm(x, xo, rows, cols, e0, eacc, o, oo):
    """TFLM int8 softmax (gemmlowp exp tables prepared at import; -1 = below diff_min)."""
    for r in range(rows):
        p = xo + r * cols
        m = _row_max(x, p, cols)
        total = 0
        for c in range(cols):
            a = eacc[m - x[p + c]]
            if a >= 0:
                total += a
        total = _wrap32(total)
        head, v = 0, total & 0xFFFFFFFF
        while head < 32 and not (v & 0x80000000):
            v = (v << 1) & 0xFFFFFFFF
            head += 1
        scale = _one_over_one_plus_x(_wrap32(((total << head) & 0xFFFFFFFF) - 2147483648))
        bits = 12 - head + 23
        for c in range(cols):
            e = e0[m - x[p + c]]
            if e < 0:
                u = -128
            else:
                u = _rdbp(_srdhm(scale, e), bits) - 128
            o[oo + r * cols + c] = -128 if u < -128 else (127 if u > 127 else u)
