"""16x8 kernels against TensorFlow Lite Micro: randomized single-op int16-activation models
(int8 weights, int64 bias) written with tests/tflite_builders.ModelWriter, run by TFLM, and the
same op built directly in the tinycnn IR (prepared by tinycnn.quant.prepare + the 16x8 pass's
fields) and run by the Numba kernels and the NumPy oracle: all three must agree exactly."""
from __future__ import annotations

import numpy as np
import pytest

from tests.tflite_builders import ModelWriter, options
from tinycnn.ir import Graph, Op, QuantParams
from tinycnn.oracles import tflm
from tinycnn.quant.int16x8 import VARIANT, _prepare_add_sub_16
from tinycnn.quant.prepare import prepare_node
from tinycnn.reference.int_ops import run_int
from tinycnn.runtime import Model

EFFECTIVE = (2.0 ** -20, 2e-5, 1e-4, 3e-4, 1e-3, 4e-3, 0.37)  # real in*w/out multipliers


def _x16(rng, shape, n=3):
    x = rng.integers(-32768, 32768, size=(n,) + tuple(shape[1:])).astype(np.int16)
    x[0] = -32768
    x[1] = 32767
    return x


def _tflite(tmp_path, op, opts, x_spec, out_spec, consts):
    w = ModelWriter()
    xi = w.tensor(x_spec[0], np.int16, x_spec[1], 0)
    ci = [w.tensor(s, dt, sc, [0] * len(np.atleast_1d(sc)), data=d, qdim=qd) for s, dt, d, sc, qd in consts]
    oi = w.tensor(out_spec[0], np.int16, out_spec[1], 0)
    w.op(op, [xi] + ci, [oi], opts)
    w.inputs, w.outputs = [xi], [oi]
    path = tmp_path / f"{op.lower()}_16x8.tflite"
    path.write_bytes(w.to_bytes())
    return path


def _ir(op, attrs, x_shape, in_s, consts, out_shape, out_s):
    g = Graph(name="single")
    g.add_tensor("x", (-1,) + tuple(x_shape[1:]), "int16", quant=QuantParams(np.float32(in_s), np.int32(0)))
    names = []
    for k, (data, dtype, scale, axis) in enumerate(consts):
        name = f"c{k}"
        g.add_tensor(name, data.shape, dtype, np.asarray(data, dtype),
                     QuantParams(np.asarray(scale, np.float32), np.zeros(np.size(scale), np.int32), axis))
        names.append(name)
    g.add_tensor("y", (-1,) + tuple(out_shape[1:]), "int16", quant=QuantParams(np.float32(out_s), np.int32(0)))
    node = g.add_node("op", op, ["x"] + names, ["y"], {**attrs, "kernel_variant": VARIANT, "output_dtype": "int16"})
    prepare_node(g, node)
    g.inputs, g.outputs = ["x"], ["y"]
    return g


def _check(path, g, x):
    ref = tflm.run(path, [x])[0]
    ours = Model(g).run_quantized([x])[0]
    oracle = run_int(g, [x])[0]
    np.testing.assert_array_equal(oracle.reshape(ref.shape), ref)
    np.testing.assert_array_equal(ours.reshape(ref.shape), ref)


def _same_pad(size, k, s, d):
    eff = (k - 1) * d + 1
    out = -(-size // s)
    total = max((out - 1) * s + eff - size, 0)
    return out, total // 2, total - total // 2


@pytest.mark.parametrize("seed", range(4))
def test_conv_2d_16x8_matches_tflm(tmp_path, seed):
    rng = np.random.default_rng(700 + seed)
    h, w, cin, cout = int(rng.integers(3, 7)), int(rng.integers(3, 7)), int(rng.integers(1, 4)), int(rng.integers(1, 5))
    k, s, dil = int(rng.integers(1, 4)), int(rng.integers(1, 3)), 1 + (seed == 3)
    in_s, out_s = float(rng.uniform(1e-4, 1e-3)), float(rng.uniform(1e-4, 1e-3))
    w_s = rng.choice(EFFECTIVE, size=cout) * out_s / in_s
    oh, pt, pb = _same_pad(h, k, s, dil)
    ow, pl, pr = _same_pad(w, k, s, dil)
    wq = rng.integers(-127, 128, size=(cout, k, k, cin)).astype(np.int8)
    bias = rng.integers(-200000, 200000, size=cout).astype(np.int64)
    act = int(rng.choice([0, 1, 3]))
    opts = options("Conv2DOptions", padding=0, strideH=s, strideW=s, dilationHFactor=dil, dilationWFactor=dil,
                   fusedActivationFunction=act)
    path = _tflite(tmp_path, "CONV_2D", opts, ((1, h, w, cin), in_s), ((1, oh, ow, cout), out_s),
                   [((cout, k, k, cin), np.int8, wq, w_s, 0), ((cout,), np.int64, bias, in_s * w_s, 0)])
    clamp = {0: None, 1: [0.0, None], 3: [0.0, 6.0]}[act]
    g = _ir(Op.CONV_2D, {"stride": [s, s], "dilation": [dil, dil], "pad": [pt, pl, pb, pr], "groups": 1,
                         "clamp": clamp}, (1, h, w, cin), in_s,
            [(wq, "int8", w_s, 0), (bias, "int64", in_s * w_s, 0)], (1, oh, ow, cout), out_s)
    _check(path, g, _x16(rng, (1, h, w, cin)))


@pytest.mark.parametrize("seed", range(3))
def test_depthwise_16x8_matches_tflm(tmp_path, seed):
    rng = np.random.default_rng(800 + seed)
    h, w, cin, mult = int(rng.integers(3, 7)), int(rng.integers(3, 7)), int(rng.integers(1, 4)), 1 + seed % 2
    cout, k, s = cin * mult, 3, 1 + seed % 2
    in_s, out_s = float(rng.uniform(1e-4, 1e-3)), float(rng.uniform(1e-4, 1e-3))
    w_s = rng.choice(EFFECTIVE, size=cout) * out_s / in_s
    oh, pt, pb = _same_pad(h, k, s, 1)
    ow, pl, pr = _same_pad(w, k, s, 1)
    wq = rng.integers(-127, 128, size=(1, k, k, cout)).astype(np.int8)
    bias = rng.integers(-200000, 200000, size=cout).astype(np.int64)
    opts = options("DepthwiseConv2DOptions", padding=0, strideH=s, strideW=s, depthMultiplier=mult,
                   fusedActivationFunction=3)
    path = _tflite(tmp_path, "DEPTHWISE_CONV_2D", opts, ((1, h, w, cin), in_s), ((1, oh, ow, cout), out_s),
                   [((1, k, k, cout), np.int8, wq, w_s, 3), ((cout,), np.int64, bias, in_s * w_s, 0)])
    g = _ir(Op.DEPTHWISE_CONV_2D, {"stride": [s, s], "dilation": [1, 1], "pad": [pt, pl, pb, pr],
                                   "depth_multiplier": mult, "clamp": [0.0, 6.0]}, (1, h, w, cin), in_s,
            [(wq[0], "int8", w_s, 2), (bias, "int64", in_s * w_s, 0)], (1, oh, ow, cout), out_s)
    _check(path, g, _x16(rng, (1, h, w, cin)))


@pytest.mark.parametrize("seed", range(3))
def test_fully_connected_16x8_matches_tflm(tmp_path, seed):
    rng = np.random.default_rng(900 + seed)
    cin, cout = int(rng.integers(2, 40)), int(rng.integers(1, 10))
    in_s, out_s = 5e-4, float(rng.uniform(1e-4, 1e-3))
    w_s = np.array([rng.choice(EFFECTIVE[2:6]) * out_s / in_s])  # per tensor, as TFLM's int16 FC
    wq = rng.integers(-127, 128, size=(cout, cin)).astype(np.int8)
    bias = rng.integers(-200000, 200000, size=cout).astype(np.int64)
    path = _tflite(tmp_path, "FULLY_CONNECTED", options("FullyConnectedOptions"), ((1, cin), in_s),
                   ((1, cout), out_s), [((cout, cin), np.int8, wq, w_s, 0),
                                        ((cout,), np.int64, bias, np.full(cout, in_s * w_s[0]), 0)])
    g = _ir(Op.FULLY_CONNECTED, {}, (1, cin), in_s,
            [(wq, "int8", w_s, None), (bias, "int64", np.full(cout, in_s * w_s[0]), 0)], (1, cout), out_s)
    _check(path, g, _x16(rng, (1, cin), 4))


@pytest.mark.parametrize("seed", range(3))
def test_add_16x8_matches_tflm(tmp_path, seed):
    rng = np.random.default_rng(1000 + seed)
    shape = (1, 3, 4, int(rng.integers(1, 5)))
    s1, s2, so = (float(v) for v in rng.uniform(1e-4, 1e-2, 3))
    w = ModelWriter()
    a, b = w.tensor(shape, np.int16, s1, 0), w.tensor(shape, np.int16, s2, 0)
    o = w.tensor(shape, np.int16, so, 0)
    w.op("ADD", [a, b], [o], options("AddOptions", fusedActivationFunction=int(seed == 1),
                                     potScaleInt16=False))
    w.inputs, w.outputs = [a, b], [o]
    path = tmp_path / "add16.tflite"
    path.write_bytes(w.to_bytes())
    g = Graph(name="add")
    for name, s in (("a", s1), ("b", s2), ("y", so)):
        g.add_tensor(name, (-1,) + shape[1:], "int16", quant=QuantParams(np.float32(s), np.int32(0)))
    node = g.add_node("add", Op.ADD, ["a", "b"], ["y"], {"kernel_variant": VARIANT, "output_dtype": "int16",
                                                         "clamp": [0.0, None] if seed == 1 else None})
    prepare_node(g, node)
    _prepare_add_sub_16(g, node)
    g.inputs, g.outputs = ["a", "b"], ["y"]
    xa, xb = _x16(rng, shape), _x16(rng, shape)
    ref = tflm.run(path, [xa, xb])[0]
    np.testing.assert_array_equal(run_int(g, [xa, xb])[0], ref)
    np.testing.assert_array_equal(Model(g).run_quantized([xa, xb])[0], ref)
