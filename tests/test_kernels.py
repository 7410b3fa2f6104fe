"""Every Numba kernel equals its plain-NumPy integer reference exactly, on random shapes and
random quantization parameters (multipliers across the range, zero points at the limits)."""
import numpy as np
import pytest

from tinycnn.ir import Graph, Op, QuantParams
from tinycnn.quant.prepare import prepare_graph
from tinycnn.reference.int_ops import run_int
from tinycnn.runtime import Model

RNG = np.random.default_rng(42)


def qp(scale=None, zp=None):
    return QuantParams(np.float32(scale if scale is not None else RNG.uniform(0.005, 0.2)),
                       np.int32(zp if zp is not None else RNG.integers(-128, 128)))


def single_op_graph(op, in_shapes, out_shape, attrs, consts=(), out_q=None, in_qs=None):
    g = Graph(name="single")
    inputs = []
    for i, shape in enumerate(in_shapes):
        name = f"in{i}"
        g.add_tensor(name, (-1,) + tuple(shape), "int8", quant=(in_qs[i] if in_qs else qp()))
        inputs.append(name)
    g.inputs = list(inputs)
    for i, (arr, dtype, q) in enumerate(consts):
        name = f"c{i}"
        g.add_tensor(name, arr.shape, dtype, arr, q)
        inputs.append(name)
    g.add_tensor("out", (-1,) + tuple(out_shape), "int8", quant=out_q or qp())
    g.add_node("node", op, inputs, ["out"], attrs)
    g.outputs = ["out"]
    return prepare_graph(g)


def check(g, batch=3):
    """Host kernels (VNNI int8 GEMM where the CPU has it, the exact float32 GEMM otherwise) and
    device kernels (MCU-shaped, firmware_sim) all equal the NumPy reference exactly."""
    from tinycnn.runtime import ExecutionPlan
    xs = [RNG.integers(-128, 128, size=(batch,) + g.tensors[n].shape[1:], dtype=np.int8) for n in g.inputs]
    # include saturated samples
    xs[0][0] = 127
    if batch > 1:
        xs[0][1] = -128
    expected = run_int(g, xs)[0]
    got = Model(g).run_quantized(xs)[0]
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    # the host's float32-GEMM conv path (used where the CPU lacks AVX-512 VNNI) as well
    from tinycnn.kernels import vnni
    saved, vnni._AVAILABLE = vnni._AVAILABLE, False
    try:
        np.testing.assert_array_equal(Model(g).run_quantized(xs)[0], expected)
    finally:
        vnni._AVAILABLE = saved
    device = ExecutionPlan(g, batch, device=True)
    for name, x in zip(g.inputs, xs):
        np.copyto(device.buffers[name], x)
    device.run()
    np.testing.assert_array_equal(device.buffers[g.outputs[0]], expected)
    return expected


def weights_qp(cout, axis):
    return QuantParams(RNG.uniform(0.001, 0.05, cout).astype(np.float32), np.zeros(cout, np.int32), axis)


def out_size(n, k, s, d, p0, p1):
    return (n + p0 + p1 - d * (k - 1) - 1) // s + 1


@pytest.mark.parametrize("trial", range(8))
def test_conv_2d(trial):
    h, w = RNG.integers(3, 10, 2)
    groups = [1, 1, 2, 3][trial % 4]
    cin = groups * int(RNG.integers(1, 5))
    cout = groups * int(RNG.integers(1, 5))
    k = [1, 3, 2, 5][trial % 4] if trial != 0 else 1
    kh, kw = k, [k, 1][trial % 2] if k > 1 else k
    s = [1, 2][trial % 2] if trial else 1
    d = 2 if trial in (3, 6) else 1
    pads = [0, 0, 0, 0] if trial == 0 else list(RNG.integers(0, 3, 4))
    oh, ow = out_size(h, kh, s, d, pads[0], pads[2]), out_size(w, kw, s, d, pads[1], pads[3])
    if oh < 1 or ow < 1:
        pytest.skip("degenerate random shape")  # shapes are seeded: never happens for these trials
    wt = RNG.integers(-127, 128, (cout, kh, kw, cin // groups), dtype=np.int8)
    bias = RNG.integers(-5000, 5000, cout).astype(np.int32)
    clamp = [[None, None], [0.0, None], [0.0, 6.0]][trial % 3]
    g = single_op_graph(Op.CONV_2D, [(h, w, cin)], (oh, ow, cout),
                        {"stride": [s, s], "dilation": [d, d], "pad": [int(p) for p in pads],
                         "groups": groups, "clamp": clamp},
                        [(wt, "int8", weights_qp(cout, 0)), (bias, "int32", None)])
    check(g)


@pytest.mark.parametrize("trial", range(6))
def test_depthwise_conv_2d(trial):
    h, w = RNG.integers(4, 10, 2)
    cin, mult = int(RNG.integers(1, 6)), [1, 1, 2, 3, 1, 1][trial]
    k = [3, 3, 5, 1, 3, 3][trial]
    s, d = [1, 2, 1, 1, 2, 1][trial], [1, 1, 1, 1, 1, 2][trial]
    pads = [int(p) for p in RNG.integers(0, 3, 4)]
    oh, ow = out_size(h, k, s, d, pads[0], pads[2]), out_size(w, k, s, d, pads[1], pads[3])
    cout = cin * mult
    wt = RNG.integers(-127, 128, (k, k, cout), dtype=np.int8)
    bias = RNG.integers(-3000, 3000, cout).astype(np.int32)
    g = single_op_graph(Op.DEPTHWISE_CONV_2D, [(h, w, cin)], (oh, ow, cout),
                        {"stride": [s, s], "dilation": [d, d], "pad": pads, "depth_multiplier": mult,
                         "clamp": [0.0, 6.0] if trial % 2 else None},
                        [(wt, "int8", weights_qp(cout, 2)), (bias, "int32", None)])
    check(g)


@pytest.mark.parametrize("per_channel", [True, False])
def test_fully_connected(per_channel):
    cin, cout = 37, 11
    wt = RNG.integers(-127, 128, (cout, cin), dtype=np.int8)
    bias = RNG.integers(-9000, 9000, cout).astype(np.int32)
    wq = weights_qp(cout, 0) if per_channel else QuantParams(np.float32(0.01), np.int32(0))
    g = single_op_graph(Op.FULLY_CONNECTED, [(cin,)], (cout,), {},
                        [(wt, "int8", wq), (bias, "int32", None)])
    check(g, batch=5)


@pytest.mark.parametrize("op", [Op.MAX_POOL_2D, Op.AVERAGE_POOL_2D])
@pytest.mark.parametrize("geom", [((2, 2), (2, 2), [0, 0, 0, 0]), ((3, 3), (1, 1), [1, 1, 1, 1]),
                                  ((3, 3), (2, 2), [0, 0, 1, 1]), ((3, 2), (2, 1), [1, 0, 1, 0])])
def test_pools(op, geom):
    (kh, kw), (sh, sw), pads = geom
    h, w, c = 7, 6, 5
    oh, ow = out_size(h, kh, sh, 1, pads[0], pads[2]), out_size(w, kw, sw, 1, pads[1], pads[3])
    q = qp()
    g = single_op_graph(op, [(h, w, c)], (oh, ow, c),
                        {"kernel": [kh, kw], "stride": [sh, sw], "pad": pads, "clamp": [0.0, None]},
                        out_q=q, in_qs=[q])
    check(g)


def test_mean():
    check(single_op_graph(Op.MEAN, [(5, 7, 9)], (1, 1, 9), {"axes": [1, 2]}))


@pytest.mark.parametrize("op", [Op.ADD, Op.SUB, Op.MUL])
@pytest.mark.parametrize("second", [(4, 5, 6), (1, 1, 6), (1, 5, 1)])
def test_binary_elementwise_broadcast(op, second):
    g = single_op_graph(op, [(4, 5, 6), second], (4, 5, 6), {"clamp": [0.0, None] if op == Op.ADD else None},
                        in_qs=[qp(zp=-128), qp(zp=127)])
    check(g)


def test_prelu_with_constant_alpha():
    alpha = RNG.integers(-128, 128, 6, dtype=np.int8)
    g = single_op_graph(Op.PRELU, [(3, 4, 6)], (3, 4, 6), {}, [(alpha, "int8", qp())])
    check(g)


def test_lut_and_requantize_and_softmax():
    g = single_op_graph(Op.LUT, [(3, 3, 4)], (3, 3, 4), {})
    g.nodes[0].params["lut"] = RNG.integers(-128, 128, 256, dtype=np.int8)
    check(g)
    check(single_op_graph(Op.REQUANTIZE, [(3, 3, 4)], (3, 3, 4), {}))
    g = single_op_graph(Op.SOFTMAX, [(10,)], (10,), {}, out_q=qp(1 / 256, -128))
    g.nodes[0].params["exp_table"] = np.round(np.exp(-0.1 * np.arange(256)) * (1 << 20)).astype(np.int32)
    out = check(g, batch=6)
    # probabilities on a 1/256 grid sum to ~1
    assert np.all(np.abs(((out.astype(int) + 128).sum(1)) - 256) <= 10)


def test_concat_with_requantization_and_data_movement():
    q_out = qp()
    g = single_op_graph(Op.CONCATENATION, [(3, 3, 2), (3, 3, 5)], (3, 3, 7), {"axis": 3},
                        out_q=q_out, in_qs=[q_out, qp()])
    check(g)
    q = qp()
    check(single_op_graph(Op.PAD, [(3, 4, 2)], (5, 5, 2), {"pads": [[0, 0], [1, 1], [0, 1], [0, 0]],
                                                            "value": 0.0}, out_q=q, in_qs=[q]))
    check(single_op_graph(Op.TRANSPOSE, [(3, 4, 2)], (2, 3, 4), {"perm": [0, 3, 1, 2]}, out_q=q, in_qs=[q]))
    check(single_op_graph(Op.RESHAPE, [(3, 4, 2)], (24,), {"shape": [-1, 24]}, out_q=q, in_qs=[q]))
    check(single_op_graph(Op.RESIZE_NEAREST, [(3, 4, 2)], (6, 8, 2), {"scale": [2, 2]}, out_q=q, in_qs=[q]))


def test_int8_softmax_tracks_float_softmax():
    """The quantizer's integer softmax (exp table + division) against float softmax of the
    dequantized input: within 1 LSB of the 1/256 output grid."""
    from tinycnn.quant.int8 import quantize_int8  # noqa: F401  (table construction lives there)
    scale = 0.08
    g = single_op_graph(Op.SOFTMAX, [(10,)], (10,), {}, out_q=qp(1 / 256, -128), in_qs=[qp(scale, 3)])
    d = np.arange(256, dtype=np.float64)
    g.nodes[0].params["exp_table"] = np.round(np.exp(-scale * d) * (1 << 20)).astype(np.int32)
    x = RNG.integers(-128, 128, (200, 10), dtype=np.int8)
    got = Model(g).run_quantized([x])[0].astype(np.float64)
    real = (x.astype(np.float64) - 3) * scale
    p = np.exp(real - real.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert np.abs((got + 128) / 256 - np.minimum(p, 255 / 256)).max() <= 1.01 / 256


def test_average_pool_window_entirely_in_padding():
    q = qp()
    g = single_op_graph(Op.AVERAGE_POOL_2D, [(2, 2, 3)], (2, 2, 3),
                        {"kernel": [1, 1], "stride": [2, 2], "pad": [1, 1, 1, 1], "clamp": None},
                        out_q=q, in_qs=[q])
    out = check(g)
    assert np.all(out[:, 0, 0] == 0)  # the corner window sees only padding
