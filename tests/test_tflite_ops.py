"""Randomized single-op TFLite models (seeded NumPy loops), TFLite Micro as the oracle: shapes,
strides, padding, per-channel multipliers from ~2^-31 to > 1, zero points at the int8 limits.
Unary ops are checked on all 256 int8 inputs."""
from __future__ import annotations

import numpy as np
import pytest

from converters.tflite import load_tflite
from tests.tflite_builders import options, single_op
from tinycnn.oracles import tflm
from tinycnn.runtime import Model

ZPS = (-128, 127, 0, 5)
EFFECTIVE = (1.5 * 2.0 ** -31, 2.0 ** -24, 1e-3, 0.37, 0.9999999, 1.0, 1.8)


def _check(path, inputs):
    g = load_tflite(path)
    ours = Model(g).run_quantized(inputs)[0]
    ref = tflm.run(path, inputs)[0]
    np.testing.assert_array_equal(ours.reshape(ref.shape), ref, err_msg=str(path))


def _rand_inputs(rng, shape, n=4):
    x = rng.integers(-128, 128, size=(n,) + tuple(shape[1:])).astype(np.int8)
    x[0] = -128
    x[1] = 127
    return x


@pytest.mark.parametrize("seed", range(6))
def test_conv_2d_random(tmp_path, seed):
    rng = np.random.default_rng(seed)
    h, w, cin = rng.integers(3, 9), rng.integers(3, 9), int(rng.integers(1, 5))
    cout, kh, kw = int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    sh, sw = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    dil = int(rng.integers(1, 3)) if seed % 3 == 0 else 1
    padding = int(rng.integers(0, 2))
    in_s, out_s = float(rng.uniform(0.005, 0.1)), float(rng.uniform(0.005, 0.1))
    eff = rng.choice(EFFECTIVE, size=cout)
    w_s = eff * out_s / in_s
    in_zp, out_zp = ZPS[seed % 4], ZPS[(seed + 1) % 4]
    eff_h, eff_w = (kh - 1) * dil + 1, (kw - 1) * dil + 1
    oh = -(-h // sh) if padding == 0 else (h - eff_h) // sh + 1
    ow = -(-w // sw) if padding == 0 else (w - eff_w) // sw + 1
    if oh < 1 or ow < 1:
        kh = kw = 1
        oh, ow = (-(-h // sh), -(-w // sw)) if padding == 0 else ((h - 1) // sh + 1, (w - 1) // sw + 1)
    wq = rng.integers(-127, 128, size=(cout, kh, kw, cin))
    bias = rng.integers(-5000, 5000, size=cout)
    opts = options("Conv2DOptions", padding=padding, strideH=sh, strideW=sw, dilationHFactor=dil,
                   dilationWFactor=dil, fusedActivationFunction=int(rng.choice([0, 1, 3])))
    path = single_op(tmp_path, "conv", "CONV_2D", [((1, h, w, cin), in_s, in_zp)],
                     ((1, oh, ow, cout), out_s, out_zp), opts,
                     consts=[((cout, kh, kw, cin), np.int8, wq, w_s, [0] * cout, 0),
                             ((cout,), np.int32, bias, in_s * w_s, [0] * cout, 0)])
    _check(path, [_rand_inputs(rng, (1, h, w, cin))])


@pytest.mark.parametrize("seed", range(4))
def test_depthwise_conv_2d_random(tmp_path, seed):
    rng = np.random.default_rng(100 + seed)
    h, w, cin, mult = int(rng.integers(3, 8)), int(rng.integers(3, 8)), int(rng.integers(1, 5)), 1 + seed % 2
    cout, k, s = cin * mult, int(rng.integers(1, 4)), int(rng.integers(1, 3))
    in_s, out_s = float(rng.uniform(0.01, 0.1)), float(rng.uniform(0.01, 0.1))
    w_s = rng.choice(EFFECTIVE, size=cout) * out_s / in_s
    oh, ow = -(-h // s), -(-w // s)
    opts = options("DepthwiseConv2DOptions", padding=0, strideH=s, strideW=s, depthMultiplier=mult,
                   fusedActivationFunction=3)
    path = single_op(tmp_path, "dw", "DEPTHWISE_CONV_2D", [((1, h, w, cin), in_s, ZPS[seed % 4])],
                     ((1, oh, ow, cout), out_s, ZPS[(seed + 2) % 4]), opts,
                     consts=[((1, k, k, cout), np.int8, rng.integers(-127, 128, (1, k, k, cout)), w_s,
                              [0] * cout, 3),
                             ((cout,), np.int32, rng.integers(-3000, 3000, cout), in_s * w_s, [0] * cout, 0)])
    _check(path, [_rand_inputs(rng, (1, h, w, cin))])


@pytest.mark.parametrize("seed", range(3))
def test_fully_connected_per_tensor_and_channel(tmp_path, seed):
    rng = np.random.default_rng(200 + seed)
    cin, cout = int(rng.integers(2, 40)), int(rng.integers(1, 12))
    in_s, out_s = 0.05, float(rng.uniform(0.01, 0.5))
    w_s = (rng.choice(EFFECTIVE, size=cout) if seed else np.array([0.3])) * out_s / in_s
    path = single_op(tmp_path, "fc", "FULLY_CONNECTED", [((1, cin), in_s, ZPS[seed])],
                     ((1, cout), out_s, ZPS[seed + 1]), options("FullyConnectedOptions"),
                     consts=[((cout, cin), np.int8, rng.integers(-127, 128, (cout, cin)), w_s,
                              [0] * len(w_s), 0),
                             ((cout,), np.int32, rng.integers(-3000, 3000, cout),
                              np.broadcast_to(in_s * w_s, (cout,)), [0] * cout, 0)])
    _check(path, [_rand_inputs(rng, (1, cin), 8)])


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("seed", range(3))
def test_binary_random(tmp_path, op, seed):
    rng = np.random.default_rng(300 + seed)
    shape = (1, 3, 4, int(rng.integers(1, 6)))
    s1, s2, so = (float(v) for v in rng.uniform(0.002, 0.3, 3))
    z1, z2, zo = ZPS[seed % 4], ZPS[(seed + 1) % 4], ZPS[(seed + 3) % 4]
    opts = options(op.capitalize() + "Options", fusedActivationFunction=int(seed == 1))
    path = single_op(tmp_path, op.lower(), op, [(shape, s1, z1), (shape, s2, z2)], (shape, so, zo), opts)
    _check(path, [_rand_inputs(rng, shape, 6), _rand_inputs(rng, shape, 6)[::-1].copy()])


@pytest.mark.parametrize("op", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("seed", range(3))
def test_pool_random(tmp_path, op, seed):
    rng = np.random.default_rng(400 + seed)
    h, w, c, k, s = 7, 6, 3, int(rng.integers(1, 4)), int(rng.integers(1, 3))
    padding = seed % 2
    oh = -(-h // s) if padding == 0 else (h - k) // s + 1
    ow = -(-w // s) if padding == 0 else (w - k) // s + 1
    opts = options("Pool2DOptions", padding=padding, strideH=s, strideW=s, filterHeight=k, filterWidth=k,
                   fusedActivationFunction=int(seed == 2) * 3)
    path = single_op(tmp_path, "pool", op, [((1, h, w, c), 0.05, ZPS[seed])], ((1, oh, ow, c), 0.05, ZPS[seed]),
                     opts)
    _check(path, [_rand_inputs(rng, (1, h, w, c))])


@pytest.mark.parametrize("keep_dims", [True, False])
@pytest.mark.parametrize("seed", range(8))
def test_mean_random(tmp_path, keep_dims, seed):
    """MEAN's rounding: many window sizes (incl. 7x7 = 49, odd counts), equal and different
    in/out scales, zero points at the limits, and inputs whose per-channel sums sweep every
    residue modulo the window size (the rounding boundaries)."""
    rng = np.random.default_rng(500 + seed)
    h, w, c = (7, 7, 16) if seed == 0 else (int(rng.integers(1, 9)), int(rng.integers(1, 9)), 16)
    in_s = float(rng.uniform(0.01, 0.2))
    out_s = in_s if seed % 2 else float(rng.uniform(0.005, 0.2))
    out_shape = (1, 1, 1, c) if keep_dims else (1, c)
    path = single_op(tmp_path, "mean", "MEAN", [((1, h, w, c), in_s, ZPS[seed % 4])],
                     (out_shape, out_s, ZPS[(seed + 1) % 4]),
                     options("ReducerOptions", keepDims=keep_dims),
                     consts=[((2,), np.int32, [1, 2], None, None, 0)])
    x = _rand_inputs(rng, (1, h, w, c), n=24)
    sweep = np.zeros((h * w, 1, h, w, c), np.int8)  # sample k: k cells of +1 on a 0 background
    for k in range(h * w):
        sweep[k].reshape(-1, c)[:k] = 1
        sweep[k] += np.int8(ZPS[seed % 4] // 2)
    _check(path, [np.concatenate([x, sweep[:, 0]])])


@pytest.mark.parametrize("seed", range(5))
def test_softmax_random(tmp_path, seed):
    rng = np.random.default_rng(600 + seed)
    c = int(rng.integers(2, 40))
    in_s = float(10 ** rng.uniform(-3, 0))
    beta = float(rng.choice([1.0, 0.5, 2.0]))
    path = single_op(tmp_path, "softmax", "SOFTMAX", [((1, c), in_s, ZPS[seed % 4])], ((1, c), 1 / 256, -128),
                     options("SoftmaxOptions", beta=beta))
    _check(path, [_rand_inputs(rng, (1, c), 16)])


ALL_256 = np.arange(-128, 128, dtype=np.int8).reshape(1, 1, 16, 16)


@pytest.mark.parametrize("op", ["LOGISTIC", "TANH", "HARD_SWISH", "LEAKY_RELU", "RELU", "RELU6", "QUANTIZE"])
@pytest.mark.parametrize("seed", range(4))
def test_unary_exhaustive(tmp_path, op, seed):
    rng = np.random.default_rng(700 + seed)
    in_s = float(10 ** rng.uniform(-3, -0.5))
    in_zp = ZPS[seed % 4]
    out = {"LOGISTIC": (1 / 256, -128), "TANH": (1 / 128, 0)}.get(
        op, (float(10 ** rng.uniform(-3, -0.5)), ZPS[(seed + 1) % 4]))
    opts = options("LeakyReluOptions", alpha=float(rng.uniform(0.01, 0.5))) if op == "LEAKY_RELU" else None
    shape = (1, 1, 16, 16)
    path = single_op(tmp_path, op.lower(), op, [(shape, in_s, in_zp)], (shape, out[0], out[1]), opts)
    _check(path, [ALL_256])


@pytest.mark.parametrize("seed", range(2))
def test_data_movement_ops(tmp_path, seed):
    rng = np.random.default_rng(800 + seed)
    x = _rand_inputs(rng, (1, 3, 4, 2))
    q = (0.05, ZPS[seed])
    # PAD (asymmetric), PADV2 with a constant, TRANSPOSE, RESIZE_NEAREST, CONCATENATION, RESHAPE
    pads = np.array([[0, 0], [1, 2], [0, 1], [0, 0]], np.int32)
    _check(single_op(tmp_path, "pad", "PAD", [((1, 3, 4, 2),) + q], ((1, 6, 5, 2),) + q,
                     consts=[((4, 2), np.int32, pads, None, None, 0)]), [x])
    _check(single_op(tmp_path, "padv2", "PADV2", [((1, 3, 4, 2),) + q], ((1, 6, 5, 2),) + q,
                     consts=[((4, 2), np.int32, pads, None, None, 0), ((1,), np.int8, [77], q[0], q[1], 0)]), [x])
    _check(single_op(tmp_path, "transpose", "TRANSPOSE", [((1, 3, 4, 2),) + q], ((1, 4, 3, 2),) + q,
                     consts=[((4,), np.int32, [0, 2, 1, 3], None, None, 0)]), [x])
    _check(single_op(tmp_path, "resize", "RESIZE_NEAREST_NEIGHBOR", [((1, 3, 4, 2),) + q], ((1, 6, 8, 2),) + q,
                     options("ResizeNearestNeighborOptions", halfPixelCenters=bool(seed)),
                     consts=[((2,), np.int32, [6, 8], None, None, 0)]), [x])
    _check(single_op(tmp_path, "concat", "CONCATENATION", [((1, 3, 4, 2),) + q, ((1, 3, 4, 2),) + q],
                     ((1, 3, 4, 4),) + q, options("ConcatenationOptions", axis=-1)), [x, x[::-1].copy()])
    _check(single_op(tmp_path, "reshape", "RESHAPE", [((1, 3, 4, 2),) + q], ((1, 24),) + q,
                     consts=[((2,), np.int32, [1, 24], None, None, 0)]), [x])
