"""16x8 quantization pass (tinycnn/quant/int16x8.py) on whole models: Numba kernels == NumPy
oracle exactly (all layers 16x8 and mixed int8/16x8 with REQUANTIZE at the borders), 16x8 is
closer to float than int8, blobs round-trip, and the int64 requantization helper's NumPy and
Numba twins agree and approximate the real product."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from tinycnn.blob.reader import read_blob
from tinycnn.blob.writer import write_blob
from tinycnn.convert import import_model, to_nhwc
from tinycnn.ir import Op
from tinycnn.kernels.int16 import mbqm_int64
from tinycnn.quant.calibrate import calibrate
from tinycnn.quant.int8 import QuantConfig, quantize_int8
from tinycnn.quant.int16x8 import wideable_layers, widen_int16x8
from tinycnn.reference.float_ops import run_float
from tinycnn.reference.int16_ops import np_multiply_by_quantized_multiplier_int64
from tinycnn.reference.int_ops import run_int
from tinycnn.report import sqnr_db
from tinycnn.runtime import Model

DATA = "tests/data/onnx"


def _load(name, n=24):
    g = import_model(f"{DATA}/{name}.onnx")
    z = np.load(f"{DATA}/{name}_data.npz")
    xc = z["x_calib"] if "x_calib" in z else z["x"]
    xt = z["x_test"] if "x_test" in z else z["x"]
    return g, to_nhwc(g, xc[:64]), to_nhwc(g, xt[:n])


def _quantized(g, xc, layers=None):
    obs = calibrate(g, [xc])
    q8 = quantize_int8(g, obs, QuantConfig())
    return q8, widen_int16x8(q8, g, obs, wideable_layers(q8) if layers is None else layers)


def _assert_kernels_match_oracle(qg, x):
    m = Model(qg)
    xq = m.quantize_input(x)
    np.testing.assert_array_equal(m.run_quantized([xq])[0], run_int(qg, [xq])[0])


WIDE_OPS = {"mobilenet_v2": {Op.ADD, Op.MEAN, Op.RESHAPE}, "inception": {Op.CONCATENATION},
            "resnet": {Op.ADD}, "vgg": {Op.MAX_POOL_2D}}


@pytest.mark.parametrize("name", sorted(WIDE_OPS))
def test_all_16x8_kernels_equal_oracle(name):
    g, xc, xt = _load(name)
    _, q16 = _quantized(g, xc)
    int16_ops = {n.op for n in q16.nodes if q16.tensors[n.outputs[0]].dtype == "int16"}
    assert WIDE_OPS[name] <= int16_ops, int16_ops
    weighted = [n for n in q16.nodes if n.op in (Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.FULLY_CONNECTED)]
    assert weighted and all(n.attrs.get("kernel_variant") == "int16x8" for n in weighted)
    for n in weighted:
        assert q16.tensors[n.outputs[0]].dtype == "int16"
        assert q16.tensors[n.inputs[1]].dtype == "int8" and q16.tensors[n.inputs[2]].dtype == "int64"
        assert not q16.tensors[n.outputs[0]].quant.zero_point.any()
    _assert_kernels_match_oracle(q16, xt)


def test_mixed_domains_insert_requantize_and_match_oracle():
    g, xc, xt = _load("mobilenet_v2")
    q8, _ = _quantized(g, xc)
    layers = wideable_layers(q8)[::2]  # every other weighted layer 16x8
    _, mixed = _quantized(g, xc, layers)
    req = [n for n in mixed.nodes if n.op == Op.REQUANTIZE]
    assert req, "int8 <-> int16 borders need REQUANTIZE nodes"
    for n in req:
        src, dst = mixed.tensors[n.inputs[0]].dtype, mixed.tensors[n.outputs[0]].dtype
        assert {src, dst} == {"int8", "int16"} and n.attrs["output_dtype"] == dst
    for n in mixed.nodes:  # every op reads its own domain
        for i in mixed.activation_inputs(n):
            want = mixed.tensors[n.outputs[0]].dtype if n.op != Op.REQUANTIZE else mixed.tensors[i].dtype
            assert mixed.tensors[i].dtype == want, n.name
    assert sorted(mixed.meta["int16x8_layers"]) == sorted(layers)
    _assert_kernels_match_oracle(mixed, xt)


def test_16x8_is_closer_to_float_than_int8():
    g, xc, xt = _load("mobilenet_v2", 64)
    q8, q16 = _quantized(g, xc)
    ref = run_float(g, [xt])[0]
    s8, s16 = (sqnr_db(ref, Model(q).run(xt.transpose(0, 3, 1, 2))) for q in (q8, q16))
    assert s16 > s8 + 3.0, (s8, s16)


def test_16x8_blob_round_trip(tmp_path):
    g, xc, xt = _load("mobilenet_v2", 8)
    _, q16 = _quantized(g, xc)
    path = write_blob(q16, tmp_path / "m16.tcnn")
    back = read_blob(path)
    assert back.tensors[back.inputs[0]].dtype == "int16"
    x = xt.transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(Model(back).run(x), Model(q16).run(x))


def test_int64_requantization_twins_agree_and_approximate_the_product():
    rng = np.random.default_rng(5)
    x = rng.integers(-(1 << 40), 1 << 40, 300)
    mult = rng.integers(1 << 30, (1 << 31) - 1, 300)
    shift = rng.integers(-20, 4, 300)
    got = np_multiply_by_quantized_multiplier_int64(x, mult, shift)
    for xi, mi, si, gi in zip(x, mult, shift, got):
        assert mbqm_int64(np.int64(xi), np.int32(mi), np.int32(si)) == gi
        exact = Fraction(int(xi)) * Fraction(int(mi), 1 << 31) * Fraction(2) ** int(si)
        # the multiplier is rounded to 16 bits: relative error <= 2^-15, plus one rounding step
        assert abs(Fraction(int(gi)) - exact) <= abs(exact) * Fraction(1, 1 << 14) + 1
