"""The int32-lane host kernels (tinycnn/kernels/lanes.py) equal the NumPy integer reference
exactly at the edges: saturated inputs, zero points at both limits, extreme weights, biases and
accumulators near the int32 range; and a Model keeps its plans for the batch sizes in use."""
import numpy as np
import pytest
from test_kernels import check, qp, single_op_graph, weights_qp

from tinycnn.fixedpoint import np_multiply_by_quantized_multiplier
from tinycnn.ir import Op, QuantParams
from tinycnn.kernels import lanes
from tinycnn.reference.int_ops import run_int
from tinycnn.runtime import Model

RNG = np.random.default_rng(7)


def fc_graph(cin, cout, wt, bias, in_zp, out_q=None):
    return single_op_graph(Op.FULLY_CONNECTED, [(cin,)], (cout,), {},
                           [(wt, "int8", weights_qp(cout, 0)), (bias, "int32", None)],
                           out_q=out_q, in_qs=[qp(0.05, in_zp)])


@pytest.mark.parametrize("in_zp", [-128, 127, 0])
@pytest.mark.parametrize("w_fill", [127, -127, None])
def test_fully_connected_lanes_edges(in_zp, w_fill):
    cin, cout = 640, 24
    wt = (np.full((cout, cin), w_fill, np.int8) if w_fill is not None
          else RNG.choice(np.array([-128, -127, 127, 0], np.int8), (cout, cin)))
    bias = RNG.integers(-(2 ** 20), 2 ** 20, cout).astype(np.int32)
    bias[0], bias[1] = 2 ** 30, -(2 ** 30)  # |acc| up to ~2**30 + 640 * 255 * 128
    g = fc_graph(cin, cout, wt, bias, in_zp)
    check(g, batch=4)
    # all-saturated inputs: the largest |accumulator| this layer can reach
    for v in (127, -128):
        x = np.full((2, cin), v, np.int8)
        np.testing.assert_array_equal(Model(g).run_quantized([x])[0], run_int(g, [x])[0])


def test_fully_connected_lanes_output_saturates_both_ways():
    cin, cout = 64, 16
    wt = RNG.integers(-127, 128, (cout, cin), dtype=np.int8)
    bias = np.where(np.arange(cout) % 2 == 0, 2 ** 28, -(2 ** 28)).astype(np.int32)
    g = fc_graph(cin, cout, wt, bias, 3, out_q=QuantParams(np.float32(1e-3), np.int32(5)))
    got = check(g, batch=3)
    assert (got == 127).any() and (got == -128).any()


def test_plans_kept_for_the_batch_sizes_in_use(monkeypatch):
    """A 360-sample run in chunks of 256 plans twice (256 and 104), then never again."""
    import tinycnn.runtime as rt
    wt = RNG.integers(-127, 128, (8, 16), dtype=np.int8)
    g = fc_graph(16, 8, wt, RNG.integers(-99, 99, 8).astype(np.int32), -3)
    made = []
    real = rt.ExecutionPlan
    monkeypatch.setattr(rt, "ExecutionPlan", lambda graph, batch: made.append(batch) or real(graph, batch))
    m = Model(g)
    x = RNG.integers(-128, 128, (360, 16), dtype=np.int8)
    want = run_int(g, [x])[0]
    for _ in range(3):
        np.testing.assert_array_equal(m.run_quantized([x], batch_size=256)[0], want)
    np.testing.assert_array_equal(m.run_quantized([x[:1]])[0], want[:1])
    assert made == [256, 104, 1]
    for b in range(2, 2 + rt.MAX_PLANS):  # least recently used plans are dropped beyond MAX_PLANS
        m.run_quantized([x[:b]])
    assert len(m._plans) == rt.MAX_PLANS and 256 not in m._plans


def test_requantize_lanes_equals_the_fixed_point_definition_at_the_limits():
    cols = 12
    mult = np.array([0, 1 << 30, (1 << 31) - 1] + list(RNG.integers(1 << 30, 1 << 31, cols - 3)), np.int32)
    shift = np.array([0, -1, -31, 0, -31, -1] + list(-RNG.integers(0, 32, cols - 6)), np.int32)
    bias = RNG.integers(-1000, 1000, cols).astype(np.int32)
    acc = RNG.integers(-(2 ** 31) + 1000, 2 ** 31 - 1000, (64, cols)).astype(np.int32)
    b64 = bias.astype(np.int64)  # acc and acc + bias both int32; acc + bias at both limits, and 0
    acc[0], acc[1], acc[2] = (np.where(b64 >= 0, 2 ** 31 - 1 - b64, 2 ** 31 - 1),
                              np.where(b64 <= 0, -(2 ** 31) - b64, -(2 ** 31)), -bias)
    acc[3:8] = np.array([[1], [-1], [1 << 30], [-(1 << 30)], [3]]) - bias  # rounding ties near 0
    rshift, rmask = lanes.requant_args(mult, shift)
    want = np_multiply_by_quantized_multiplier(acc.astype(np.int64) + bias, mult, shift)
    for out_dtype, quant in ((np.int32, [0, 0, -(2 ** 31), 2 ** 31 - 1]), (np.int8, [0, 5, -128, 127])):
        out = np.zeros(acc.shape, out_dtype)
        lanes.requantize_lanes(acc, bias, mult, rshift, rmask, np.array(quant, np.int64), out)
        np.testing.assert_array_equal(out, np.clip(want + quant[1], quant[2], quant[3]))
    for f32 in (False, True):  # the float32 GEMM's accumulators (exact integers < 2**24)
        small = (acc % (1 << 23)).astype(np.float32 if f32 else np.int32)
        out = np.zeros(acc.shape, np.int32)
        lanes.requantize_lanes(small, bias, mult, rshift, rmask, np.array([0, 0, -(2 ** 31), 2 ** 31 - 1]), out)
        np.testing.assert_array_equal(out, np_multiply_by_quantized_multiplier(
            small.astype(np.int64) + bias, mult, shift))
    assert lanes.requant_args(mult, np.where(np.arange(cols) == 3, 1, shift)) is None  # left shift: general path


@pytest.mark.parametrize("in_zp", [-128, 127])
def test_depthwise_lanes_edges(in_zp):
    h, w, c = 7, 9, 24
    wt = RNG.choice(np.array([-128, -127, 127], np.int8), (3, 3, c))
    bias = RNG.integers(-(2 ** 24), 2 ** 24, c).astype(np.int32)
    for stride, pads in ((1, [1, 1, 1, 1]), (2, [0, 0, 1, 1])):
        oh, ow = (h + pads[0] + pads[2] - 3) // stride + 1, (w + pads[1] + pads[3] - 3) // stride + 1
        g = single_op_graph(Op.DEPTHWISE_CONV_2D, [(h, w, c)], (oh, ow, c),
                            {"stride": [stride, stride], "dilation": [1, 1], "pad": pads, "depth_multiplier": 1,
                             "clamp": None},
                            [(wt, "int8", weights_qp(c, 2)), (bias, "int32", None)], in_qs=[qp(0.05, in_zp)])
        check(g, batch=3)
        for v in (127, -128):
            x = np.full((1, h, w, c), v, np.int8)
            np.testing.assert_array_equal(Model(g).run_quantized([x])[0], run_int(g, [x])[0])


def test_reshape_is_a_view_on_host_plans_and_a_copy_in_device_arenas():
    from tinycnn.runtime import ExecutionPlan
    g = single_op_graph(Op.RESHAPE, [(4, 6)], (24,), {"shape": [-1, 24]})
    g.tensors["out"].quant = g.tensors["in0"].quant
    x = RNG.integers(-128, 128, (3, 4, 6), dtype=np.int8)
    np.testing.assert_array_equal(Model(g).run_quantized([x])[0], run_int(g, [x])[0])
    host = ExecutionPlan(g, 3)
    assert host.calls == [] and np.shares_memory(host.buffers["out"], host.buffers["in0"])
    arena = ExecutionPlan(g, 3, allocate=lambda name, shape, dtype: np.zeros(shape, dtype))
    assert len(arena.calls) == 1 and not np.shares_memory(arena.buffers["out"], arena.buffers["in0"])
