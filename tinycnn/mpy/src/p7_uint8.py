

# ---------------------------------------------------------------- legacy uint8 TFLite (variant "uint8")
# Activations are the uint8 values shifted by -128 to int8, as everywhere. CONV_2D /
# DEPTHWISE_CONV_2D / FULLY_CONNECTED: the blob's int8 weights (w - 128) plus weight_offset
# (128 - zero point) are widened once, at load time, to the exact int16 w - zero point (the
# int8 kernels take any integer weights). AVERAGE_POOL_2D: TFLite's uint8 rounding, the uint8
# window sum rounded half up.

def _widen_u8(m, node, a):
    off = a["weight_offset"]
    if not -127 <= off <= 128:
        m._fail(node, "weight_offset %d outside [-127, 128]" % off)
    w, wo = m._in(node[2][1])
    n = m._numel(node[2][1])
    wide = _zeros("h", n)
    for k in range(n):
        wide[k] = w[wo + k] + off
    return wide, 0


def _avg_pool_u8(x, xo, g, lo, hi, o, oo):
    ih, iw, c_n, oh, ow, _, kh, kw, sh, sw, _, _, pt, pl = g
    for oy in range(oh):
        ya = max(oy * sh - pt, 0)
        yb = min(oy * sh - pt + kh, ih)
        for ox in range(ow):
            xa = max(ox * sw - pl, 0)
            xb = min(ox * sw - pl + kw, iw)
            count = (yb - ya) * (xb - xa)
            for c in range(c_n):
                s = 128 * count  # the sum of the uint8 values x + 128 (>= 0)
                for iy in range(ya, yb):
                    p = xo + (iy * iw + xa) * c_n + c
                    for _ in range(xa, xb):
                        s += x[p]
                        p += c_n
                s = (s + count // 2) // count - 128 if count > 0 else 0
                o[oo] = lo if s < lo else (hi if s > hi else s)
                oo += 1


@_binder(("AVERAGE_POOL_2D", "uint8"))
def _b_avg_pool_u8(m, node, a):
    k = a["kernel"]
    g = _geom(m, node, a, k[0], k[1])
    x, xo = m._in(node[2][0])
    o, oo = m._views[node[3][0]]
    lo, hi = a["act_min"], a["act_max"]
    return lambda: _avg_pool_u8(x, xo, g, lo, hi, o, oo)


for _op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
    _BINDERS[(_op, "uint8")] = _BINDERS[_op]  # with _widen_u8's weights (p5 _weighted)
