

@_binder("BINARIZE")
def _b_binarize(m, node, a):
    x, xo = m._in(node[2][0])
    o, oo = m._views[node[3][0]]
    s = _as4d(m._shape(node[2][0]))
    nb = 4 * m._shape(node[3][0])[-1]
    args = (x, xo, s[1] * s[2], s[3], a["input_zero_point"], nb, o, oo)
    return lambda: _binarize(*args)


@_binder("BINARY_CONV_2D")
def _b_bconv(m, node, a):
    x, xo = m._in(node[2][0])
    w = m._in(node[2][1])[0]
    ws = m._shape(node[2][1])
    cout, kh, kw, nb = ws[0], ws[1], ws[2], 4 * ws[3]
    g = _geom(m, node, a, kh, kw)
    g = g[:2] + (nb,) + g[3:]
    o, oo = m._views[node[3][0]]
    out = _BinaryOut(a, node[5] and {k: m._param(node, k) for k in node[5]}, cout, o)
    pad_one = a.get("pad_mode", "zero") == "one"
    wpop = _tap_popcounts(w, cout, kh * kw, nb) if pad_one else None
    cin = a["in_channels"]

    def run():
        out.start(oo)
        _bconv_dots(x, xo, g, nb, cin, w, wpop, pad_one, cout, out.emit)
    return run


@_binder("BINARY_FULLY_CONNECTED")
def _b_bfc(m, node, a):
    x, xo = m._in(node[2][0])
    w = m._in(node[2][1])[0]
    ws = m._shape(node[2][1])
    cout, nb_total = ws[0], 4 * ws[1]
    o, oo = m._views[node[3][0]]
    out = _BinaryOut(a, {k: m._param(node, k) for k in node[5]}, cout, o)
    k_bits = a.get("in_pixels", 1) * a["in_channels"]

    def run():
        out.start(oo)
        _bfc(x, xo, nb_total, k_bits, w, cout, out.emit)
    return run


@_binder("BINARY_MAX_POOL_2D")
def _b_bmaxpool(m, node, a):
    k = a["kernel"]
    g = _geom(m, node, a, k[0], k[1])
    x, xo = m._in(node[2][0])
    o, oo = m._views[node[3][0]]
    nb = 4 * m._shape(node[3][0])[-1]
    c_n = a["channels"]
    return lambda: _bmaxpool(x, xo, g, nb, c_n, o, oo)
