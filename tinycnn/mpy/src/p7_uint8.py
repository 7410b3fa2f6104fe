

# ---------------------------------------------------------------- legacy uint8 TFLite (variant "uint8")
# Activations are the uint8 values shifted by -128 to int8, as everywhere. CONV_2D /
# DEPTHWISE_CONV_2D / FULLY_CONNECTED: the blob's int8 weights (w - 128) plus weight_offset
# (128 - zero point) are widened once, at load time, to the exact int16 w - zero point (the
# int8 kernels take any integer weights). AVERAGE_POOL_2D: TFLite's uint8 rounding, the uint8
# window sum rounded half up, i.e. floor((sum + count // 2) / count) of the int8 sum (_pool's half_up).

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


@_binder(("AVERAGE_POOL_2D", "uint8"))
def _b_avg_pool_u8(m, node, a):
    k = a["kernel"]
    g = _geom(m, node, a, k[0], k[1])
    x, xo = m._in(node[2][0])
    o, oo = m._views[node[3][0]]
    lo, hi = a["act_min"], a["act_max"]
    return lambda: _pool(x, xo, g, False, lo, hi, o, oo, True)


for _op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
    _BINDERS[(_op, "uint8")] = _BINDERS[_op]  # with _widen_u8's weights (p5 _weighted)
