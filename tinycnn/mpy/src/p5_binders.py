

# ---------------------------------------------------------------- binders: node -> bound call
# All argument packing happens here, once, at load time (TFLite Micro's prepare/eval split).
_BINDERS = {}


def _binder(*keys):
    def reg(fn):
        for k in keys:
            _BINDERS[k] = fn
        return fn
    return reg


def _geom(m, node, a, kh, kw):
    x, o = m._shape(node[2][0]), m._shape(node[3][0])
    x4, o4 = _as4d(x), _as4d(o)
    if x4[0] != 1:
        m._fail(node, "batch must be 1")
    st, dl, pd = a.get("stride", [1, 1]), a.get("dilation", [1, 1]), a.get("pad", [0, 0, 0, 0])
    if min(st + dl) < 1 or min(pd) < 0 or kh < 1 or kw < 1:
        m._fail(node, "stride/dilation must be >= 1 and padding >= 0")
    for size, k, s_, d, p0, p1, out in ((x4[1], kh, st[0], dl[0], pd[0], pd[2], o4[1]),
                                        (x4[2], kw, st[1], dl[1], pd[1], pd[3], o4[2])):
        if (size + p0 + p1 - d * (k - 1) - 1) // s_ + 1 != out:
            m._fail(node, "output shape %s does not follow from the input %s and the window" % (list(o), list(x)))
    return (x4[1], x4[2], x4[3], o4[1], o4[2], o4[3], kh, kw, st[0], st[1], dl[0], dl[1], pd[0], pd[1])


def _weighted(m, node, a):
    """inputs, bias and requant tuple shared by CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED."""
    ins = node[2]
    x, xo = m._in(ins[0])
    w, wo = _widen_u8(m, node, a) if a.get("kernel_variant") == "uint8" else m._in(ins[1])  # p7_uint8
    cout = m._shape(ins[1])[0 if node[0] != "DEPTHWISE_CONV_2D" else -1]
    b = m._in(ins[2])[0] if len(ins) > 2 and ins[2] >= 0 else [0] * cout
    o, oo = m._views[node[3][0]]
    wide = a.get("kernel_variant") == "int16x8"
    if a.get("output_mode") == "packed":
        r = (2, 4 * m._shape(node[3][0])[-1], None, 0, 0, 0)
    else:
        mult = m._param(node, "output_multiplier")
        r = (1 if wide else 3, mult if wide else _mbq_prepare(mult), m._param(node, "output_shift"),
             a["output_offset"], a["act_min"], a["act_max"])
    return x, xo, w, wo, b, o, oo, (0 if wide else a.get("input_offset", 0)), r


@_binder("CONV_2D")
def _b_conv(m, node, a):
    x, xo, w, wo, b, o, oo, in_off, r = _weighted(m, node, a)
    ws = m._shape(node[2][1])
    g = _geom(m, node, a, ws[1], ws[2])
    g = g[:5] + (ws[0],) + g[6:]  # output channels (a packed output's last dim counts words)
    groups, patch = a.get("groups", 1), m._patch
    if ws[3] * groups != g[2] or ws[0] % groups:
        m._fail(node, "weights do not match the input channels and groups")
    return lambda: _conv(x, xo, w, wo, b, g, groups, in_off, r, o, oo, patch)


@_binder("DEPTHWISE_CONV_2D")
def _b_dw(m, node, a):
    x, xo, w, wo, b, o, oo, in_off, r = _weighted(m, node, a)
    ws = m._shape(node[2][1])
    g = _geom(m, node, a, ws[0], ws[1])
    dm = a.get("depth_multiplier", 1)
    if g[2] * dm != g[5] or ws[2] != g[5]:
        m._fail(node, "channels do not match the depth multiplier and the weights")
    return lambda: _dwconv(x, xo, w, wo, b, g, dm, in_off, r, o, oo)


@_binder("FULLY_CONNECTED")
def _b_fc(m, node, a):
    x, xo, w, wo, b, o, oo, in_off, r = _weighted(m, node, a)
    ws = m._shape(node[2][1])
    if _prod(m._shape(node[2][0])) != ws[1]:
        m._fail(node, "input size does not match the weights")
    return lambda: _fc(x, xo, ws[1], w, wo, b, ws[0], in_off, r, o, oo)


@_binder("MAX_POOL_2D", "AVERAGE_POOL_2D")
def _b_pool(m, node, a):
    k = a["kernel"]
    g = _geom(m, node, a, k[0], k[1])
    x, xo = m._in(node[2][0])
    o, oo = m._views[node[3][0]]
    is_max, lo, hi = node[0] == "MAX_POOL_2D", a["act_min"], a["act_max"]
    return lambda: _pool(x, xo, g, is_max, lo, hi, o, oo)


@_binder("MEAN")
def _b_mean(m, node, a):
    s = _as4d(m._shape(node[2][0]))
    x, xo = m._in(node[2][0])
    o, oo = m._views[node[3][0]]
    lo, hi = _RANGE["int16" if a.get("kernel_variant") == "int16x8" else "int8"]
    args = (x, xo, s[1] * s[2], s[3], a["input_offset"], a["output_multiplier"] - 1073741824, a["output_shift"],
            a["output_offset"], lo, hi, o, oo)
    return lambda: _mean(*args)


def _elementwise(m, node, fn, q):
    out_shape = m._shape(node[3][0])
    if len(out_shape) > 4:
        m._fail(node, "rank > 4")
    o4 = (1,) * (4 - len(out_shape)) + tuple(out_shape)
    (x1, o1), (x2, o2) = m._in(node[2][0]), m._in(node[2][1])
    s1 = _bcast_index(m._shape(node[2][0]), o4)
    s2 = _bcast_index(m._shape(node[2][1]), o4)
    if s1 is None or s2 is None:
        m._fail(node, "input shapes do not broadcast to the output shape")
    o, oo = m._views[node[3][0]]
    return lambda: _binary_elementwise(x1, o1, s1, x2, o2, s2, o4, fn, q, o, oo)


@_binder("ADD", "SUB")
def _b_add(m, node, a):
    e = 1073741824  # multipliers as _mbqe takes them
    q = (a["input1_offset"], a["input2_offset"], a["left_shift"], a["input1_multiplier"] - e,
         a["input1_shift"], a["input2_multiplier"] - e, a["input2_shift"], a["output_multiplier"] - e,
         a["output_shift"], a["output_offset"], a["act_min"], a["act_max"], 1 if node[0] == "ADD" else -1)
    return _elementwise(m, node, _add_one, q)


@_binder("MUL")
def _b_mul(m, node, a):
    q = (a["input1_offset"], a["input2_offset"], a["output_multiplier"], a["output_shift"],
         a["output_offset"], a["act_min"], a["act_max"])
    return _elementwise(m, node, _mul_one, q)


@_binder("PRELU")
def _b_prelu(m, node, a):
    q = (a["input_offset"], a["alpha_offset"], a["output_multiplier_1"], a["output_shift_1"],
         a["output_multiplier_2"], a["output_shift_2"], a["output_offset"])
    return _elementwise(m, node, _prelu_one, q)


def _unary(m, node):
    x, xo = m._in(node[2][0])
    o, oo = m._views[node[3][0]]
    return x, xo, o, oo, _prod(m._shape(node[3][0]))


@_binder("LUT")
def _b_lut(m, node, a):
    x, xo, o, oo, n = _unary(m, node)
    table = m._param(node, "lut")
    return lambda: _lut(x, xo, n, table, o, oo)


def _out_range(m, node):
    return _RANGE[m._g.tensors[node[3][0]]["dtype"]]


@_binder("REQUANTIZE")
def _b_requant(m, node, a):
    x, xo, o, oo, n = _unary(m, node)
    lo, hi = _out_range(m, node)
    args = (x, xo, n, a["input_offset"], a["output_multiplier"], a["output_shift"], a["output_offset"], lo, hi, o, oo)
    return lambda: _requant(*args)


@_binder("SOFTMAX", ("SOFTMAX", "tflm"))
def _b_softmax(m, node, a):
    x, xo, o, oo, n = _unary(m, node)
    cols = m._shape(node[3][0])[-1]
    if a.get("kernel_variant") == "tflm":
        e0, acc = m._param(node, "exp_q0"), m._param(node, "exp_acc")
        return lambda: _softmax_tflm(x, xo, n // cols, cols, e0, acc, o, oo)
    table = m._param(node, "exp_table")
    return lambda: _softmax(x, xo, n // cols, cols, table, o, oo)


def _copy(src, so, dst, do, n):
    memoryview(dst)[do:do + n] = memoryview(src)[so:so + n]


@_binder("RESHAPE")
def _b_reshape(m, node, a):
    x, xo, o, oo, n = _unary(m, node)
    n = m._numel(node[3][0])
    return lambda: _copy(x, xo, o, oo, n)


@_binder("CONCATENATION")
def _b_concat(m, node, a):
    out_shape = m._shape(node[3][0])
    axis = a["axis"] % len(out_shape)
    outer, out_inner = _prod(out_shape[:axis]), _prod(out_shape[axis:])
    rq = m._param(node, "requant")
    lo, hi = _out_range(m, node)
    o, oo = m._views[node[3][0]]
    steps, start = [], 0
    for k, i in enumerate(node[2]):
        x, xo = m._in(i)
        inner = _prod(m._shape(i)[axis:])
        steps.append((x, xo, inner, start, rq[3 * k], rq[3 * k + 1], rq[3 * k + 2]))
        start += inner

    def run():
        for x, xo, inner, st, off, mult, shift in steps:
            for j in range(outer):
                if mult == 0:
                    _copy(x, xo + j * inner, o, oo + j * out_inner + st, inner)
                else:
                    _requant(x, xo + j * inner, inner, off, mult, shift, a["output_offset"], lo, hi,
                             o, oo + j * out_inner + st)
    return run


def _strides(shape):
    st, acc = [0] * len(shape), 1
    for d in range(len(shape) - 1, -1, -1):
        st[d] = acc
        acc *= shape[d]
    return st


def _gather4(x, xo, src_strides, out_shape, o, oo):
    """out[i0, i1, i2, i3] = x[xo + sum(i_d * src_strides[d])] (transpose, pad, resize)."""
    s0, s1, s2, s3 = src_strides
    for a in range(out_shape[0]):
        for b_ in range(out_shape[1]):
            for c in range(out_shape[2]):
                p = xo + a * s0 + b_ * s1 + c * s2
                for d in range(out_shape[3]):
                    o[oo] = x[p + d * s3]
                    oo += 1


def _pad4(shape):
    return [1] * (4 - len(shape)) + list(shape)


@_binder("TRANSPOSE")
def _b_transpose(m, node, a):
    x, xo, o, oo, n = _unary(m, node)
    ish, osh, perm = m._shape(node[2][0]), m._shape(node[3][0]), a["perm"]
    if len(ish) > 4:
        m._fail(node, "rank > 4")
    st = _strides(ish)
    src = [st[p] for p in perm]
    src = [0] * (4 - len(src)) + src
    o4 = _pad4(osh)
    return lambda: _gather4(x, xo, src, o4, o, oo)


@_binder("PAD")
def _b_pad(m, node, a):
    x, xo, o, oo, n = _unary(m, node)
    ish, osh, pads = m._shape(node[2][0]), m._shape(node[3][0]), a["pads"]
    if len(ish) > 4:
        m._fail(node, "rank > 4")
    value = a["pad_value_q"]
    st = _strides(_pad4(ish))
    i4, o4 = _pad4(ish), _pad4(osh)
    p4 = [[0, 0]] * (4 - len(pads)) + [list(p) for p in pads]
    inner = oo + sum(p4[d][0] * _strides(o4)[d] for d in range(4))
    ost = _strides(o4)

    def run():
        for k in range(n):
            o[oo + k] = value
        for a0 in range(i4[0]):
            for a1 in range(i4[1]):
                for a2 in range(i4[2]):
                    _copy(x, xo + a0 * st[0] + a1 * st[1] + a2 * st[2], o,
                          inner + a0 * ost[0] + a1 * ost[1] + a2 * ost[2], i4[3])
    return run


@_binder("RESIZE_NEAREST")
def _b_resize(m, node, a):
    x, xo, o, oo, n = _unary(m, node)
    fh, fw = a["scale"]
    n_, h, w, c = _as4d(m._shape(node[2][0]))
    oh, ow = h * fh, w * fw

    def run():
        p = oo
        for y in range(oh):
            for xx in range(ow):
                _copy(x, xo + ((y // fh) * w + xx // fw) * c, o, p, c)
                p += c
    return run
