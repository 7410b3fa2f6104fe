"""1-bit kernels vs the plain-NumPy references: bitpacking, binary conv (general / 1x1,
strides, dilation, SAME with zero or +1 padding, VALID, channel counts that are not multiples
of 32), binary fully connected, binarize, binary max pool. Exact equality everywhere."""
from __future__ import annotations

import numpy as np
import pytest

from tinycnn.bitpack import (pack_bits, pack_signs, padding_bits_clear, unpack_signs, words_for)
from tinycnn.ir import Graph, Node, Op
from tinycnn.kernels.registry import bind
from tinycnn.quant.binarize import int8_output_affine, sign_thresholds
from tinycnn.reference import binary_float, binary_int
from tinycnn.reference.binary_int import quantize_real


def _run_kernel(node, ins, out_shape, out_dtype):
    out = np.zeros(out_shape, out_dtype)
    call = bind(Graph(), node, ins, out, lambda count, dtype, **_: np.zeros(count, dtype))
    call()
    return out


def _float_node(op, attrs):
    return Node("f", op, ["x", "w", "b"], ["y"], dict(attrs))


def _quant_node(op, attrs, w, b, cin, out_mode, k_max, pixels=1, out_q=(0.05, 3)):
    alpha = binary_float.channel_alpha(w)
    a = dict(attrs, in_channels=cin, in_pixels=pixels, out_channels=w.shape[0], output_mode=out_mode)
    params = {}
    if out_mode == "packed":
        params["threshold"] = sign_thresholds(a, alpha, b, k_max)
    else:
        fields, params = int8_output_affine(alpha, b, out_q[0], out_q[1], a.get("clamp"), k_max)
        a.update(fields)
    return Node("q", op, ["x", "w"], ["y"], a, params)


def _weights(rng, shape):
    """XNOR-Net style weights alpha[c] * sign, plus a few arbitrary channels."""
    w = rng.standard_normal(shape).astype(np.float32)
    alpha = rng.uniform(0.01, 0.5, shape[0]).astype(np.float32)
    w[::2] = np.sign(w[::2]) * alpha[::2].reshape((-1,) + (1,) * (len(shape) - 1))
    return w


def test_pack_roundtrip_and_padding_bits():
    rng = np.random.default_rng(0)
    for c in (1, 7, 31, 32, 33, 64, 100):
        x = rng.standard_normal((3, 2, c))
        p = pack_signs(x)
        assert p.shape == (3, 2, words_for(c)) and p.dtype == np.uint32
        assert padding_bits_clear(p, c)
        np.testing.assert_array_equal(unpack_signs(p, c), np.where(x < 0, -1, 1))
    # bit order: channel c -> word c // 32, bit c % 32; 1 = negative
    bits = np.zeros(40, bool)
    bits[[0, 5, 33]] = True
    np.testing.assert_array_equal(pack_bits(bits), np.array([(1 << 0) | (1 << 5), 1 << 1], np.uint32))
    assert pack_signs(np.array([0.0, -0.0, 1e-30, -1e-30]))[0] == 0b1000  # sign(0) = +1


CONV_CASES = [
    # n, h, w, cin, cout, k, stride, pad, dilation, pad_mode
    (2, 7, 6, 45, 33, 3, 1, "same", 1, "zero"),
    (1, 8, 8, 32, 16, 3, 2, "same", 1, "zero"),
    (2, 6, 7, 5, 40, 3, 1, "same", 1, "one"),
    (1, 9, 9, 70, 8, 3, 2, "same", 1, "one"),
    (1, 9, 8, 64, 20, 3, 1, "valid", 1, "zero"),
    (2, 10, 10, 3, 9, 5, 2, "same", 1, "zero"),
    (1, 9, 9, 33, 12, 3, 1, "same", 2, "zero"),
    (2, 5, 4, 48, 32, 1, 1, "valid", 1, "zero"),  # 1x1 fast path
    (1, 5, 5, 40, 7, 2, 2, "valid", 1, "one"),
]


def _pads(k, stride, dilation, h, w, mode):
    if mode == "valid":
        return [0, 0, 0, 0]
    from converters.builder import same_padding
    pt, pb = same_padding(h, k, stride, dilation)
    pl, pr = same_padding(w, k, stride, dilation)
    return [pt, pl, pb, pr]


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("out_mode", ["packed", "int8"])
def test_binary_conv_matches_references(case, out_mode):
    n, h, w_, cin, cout, k, stride, pad, dil, pad_mode = case
    rng = np.random.default_rng(CONV_CASES.index(case))
    attrs = {"stride": [stride, stride], "dilation": [dil, dil], "pad": _pads(k, stride, dil, h, w_, pad),
             "pad_mode": pad_mode}
    if out_mode == "int8":
        attrs["clamp"] = [0.0, None] if cin % 2 else None
    x = rng.standard_normal((n, h, w_, cin)).astype(np.float32)
    w = _weights(rng, (cout, k, k, cin))
    b = rng.normal(0, 0.5, cout).astype(np.float32)
    y_float = binary_float.binary_conv_2d_float(_float_node(Op.BINARY_CONV_2D, attrs), x, w, b)
    qnode = _quant_node(Op.BINARY_CONV_2D, attrs, w, b, cin, out_mode, k * k * cin)
    xp, wp = pack_signs(x), pack_signs(w)
    ref = binary_int.binary_conv_2d(qnode, xp, wp)
    got = _run_kernel(qnode, [xp, wp], ref.shape, ref.dtype)
    np.testing.assert_array_equal(got, ref)
    if out_mode == "packed":
        np.testing.assert_array_equal(got, pack_signs(y_float))
        assert padding_bits_clear(got, cout)
    else:
        _assert_rounds_float(got, y_float)
    # the dot products themselves, against a plain +-1 float convolution (no tinycnn code)
    xs, ws = np.where(x < 0, -1.0, 1.0), np.where(w < 0, -1.0, 1.0)
    pt, pl, pb, pr = attrs["pad"]
    xpad = np.pad(xs, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=1.0 if pad_mode == "one" else 0.0)
    oh, ow = y_float.shape[1:3]
    dots = np.zeros((n, oh, ow, cout))
    for oy in range(oh):
        for ox in range(ow):
            win = xpad[:, oy * stride:oy * stride + dil * (k - 1) + 1:dil, ox * stride:ox * stride + dil * (k - 1) + 1:dil]
            dots[:, oy, ox] = np.einsum("nijc,oijc->no", win, ws)
    expect = binary_float.real_output(attrs, dots, binary_float.channel_alpha(w), b)
    np.testing.assert_array_equal(y_float, expect)


@pytest.mark.parametrize("pixels,cin,cout", [(1, 100, 33), (16, 48, 64), (4, 32, 10)])
@pytest.mark.parametrize("out_mode", ["packed", "int8"])
def test_binary_fully_connected(pixels, cin, cout, out_mode):
    rng = np.random.default_rng(pixels * 1000 + cin)
    x = rng.standard_normal((3, pixels, cin)).astype(np.float32)
    w = _weights(rng, (cout, pixels * cin))
    b = rng.normal(0, 0.5, cout).astype(np.float32)
    y_float = binary_float.binary_fully_connected_float(_float_node(Op.BINARY_FULLY_CONNECTED, {}),
                                                        x.reshape(3, -1), w, b)
    qnode = _quant_node(Op.BINARY_FULLY_CONNECTED, {}, w, b, cin, out_mode, pixels * cin, pixels)
    xp = pack_signs(x).reshape(3, -1)  # per-pixel packing, flattened
    wp = pack_signs(w.reshape(cout, pixels, cin)).reshape(cout, -1)
    ref = binary_int.binary_fully_connected(qnode, xp, wp)
    got = _run_kernel(qnode, [xp, wp], ref.shape, ref.dtype)
    np.testing.assert_array_equal(got, ref)
    if out_mode == "packed":
        np.testing.assert_array_equal(got, pack_signs(y_float))
    else:
        _assert_rounds_float(got, y_float)


def _assert_rounds_float(got, y_float):
    """The integer output affine is within one step of rounding the float output (out_q =
    0.05, 3), and equal to it almost everywhere."""
    want = quantize_real(y_float, 0.05, 3).astype(np.int32)
    assert np.abs(got.astype(np.int32) - want).max() <= 1
    assert np.mean(got == want) > 0.97


def test_binarize_and_binary_max_pool():
    rng = np.random.default_rng(3)
    q = rng.integers(-128, 128, (2, 7, 7, 45)).astype(np.int8)
    node = Node("b", Op.BINARIZE, ["x"], ["y"], {"input_zero_point": -7, "channels": 45})
    got = _run_kernel(node, [q], (2, 7, 7, 2), np.uint32)
    np.testing.assert_array_equal(got, binary_int.binarize(node, q))
    np.testing.assert_array_equal(got, pack_signs(q.astype(np.int32) + 7))
    for pad in ([0, 0, 0, 0], [1, 1, 1, 1], [0, 0, 1, 1]):
        attrs = {"kernel": [2, 2], "stride": [2, 2], "pad": pad, "channels": 45}
        node = Node("p", Op.BINARY_MAX_POOL_2D, ["x"], ["y"], attrs)
        ref = binary_int.binary_max_pool_2d(node, got)
        out = _run_kernel(node, [got], ref.shape, np.uint32)
        np.testing.assert_array_equal(out, ref)
        xs = unpack_signs(got, 45, np.float32)
        np.testing.assert_array_equal(out, pack_signs(binary_float.binary_max_pool_2d_float(node, xs)))
        assert padding_bits_clear(out, 45)


def test_thresholds_fuse_scale_bias_clamp_exactly():
    rng = np.random.default_rng(5)
    alpha = np.abs(rng.standard_normal(50)).astype(np.float32)
    alpha[0] = 0.0
    bias = rng.normal(0, 3, 50).astype(np.float32)
    bias[1] = 0.0
    k = 90
    for attrs in ({}, {"clamp": [0.0, 6.0]}, {"clamp": [-1.0, 1.0]}):
        thr = sign_thresholds(attrs, alpha, bias, k)
        d = np.arange(-k, k + 1)[:, None]
        y = binary_float.real_output(attrs, d, alpha, bias)
        np.testing.assert_array_equal(y < 0, d < thr.astype(np.int64))
