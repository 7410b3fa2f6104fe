"""int16x8 TFLite import (16-bit activations, 8-bit weights; fixtures made by the TF converter,
tests/data/tflite/make_tflite_int16_fixtures.py): bit-exact with TFLite Micro first and
tflite-runtime's reference kernels second, kernels == NumPy oracle, blob round trip, native int16
arrays through Model.run, and the one-line refusal of ops the 16x8 path cannot run."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tinycnn
from converters.tflite import load_tflite
from tinycnn.convert import convert
from tinycnn.errors import TinyCNNError
from tinycnn.oracles import tflite_ref, tflm
from tinycnn.reference.int_ops import run_int
from tinycnn.runtime import Model
from tests.tflite_builders import ModelWriter, options

DATA = Path(__file__).parent / "data" / "tflite"
MODELS = ["int16x8_ops", "int16x8_mobilenet", "int16x8_kws", "int16x8_conv1d", "int16x8_leaky",
          "int16x8_sigmoid_tanh", "int16x8_transpose_conv"]
N_SAMPLES = 40


def _load(name, n=N_SAMPLES):
    g = load_tflite(DATA / f"{name}.tflite")
    x = np.load(DATA / f"{name}_data.npz")["x_test"][:n].astype(np.float32)
    return g, x


def _int16_inputs(m: Model, x):
    """The file's own int16 quantization of x, plus all -32768 and all 32767 (saturation)."""
    g = m.graph
    shape = (len(x),) + tuple(g.tensors[g.inputs[0]].shape[1:])
    xq = m.quantize_input(x.reshape(shape))
    assert xq.dtype == np.int16
    extremes = np.stack([np.full(shape[1:], -32768, np.int16), np.full(shape[1:], 32767, np.int16)])
    return np.concatenate([xq, extremes])


def test_fixtures_are_int16x8():
    for name in MODELS:
        g, _ = _load(name, 1)
        assert g.meta["scheme"] == "int16x8"
        assert g.meta["int16x8_layers"], name
        weighted = [n for n in g.nodes if n.op.value in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")]
        assert all(n.attrs["kernel_variant"] == "int16x8" for n in weighted)
        assert all(g.tensors[n.inputs[2]].dtype == "int64" for n in weighted)
        assert all(g.tensors[t].quant.zero_point.max() == 0 for t in g.tensors if g.tensors[t].dtype == "int16")


@pytest.mark.parametrize("name", MODELS)
def test_int16x8_fixture_bit_exact_with_tflm(name):
    g, x = _load(name)
    m = Model(g)
    path = DATA / f"{name}.tflite"
    if g.meta["tflite_float_io"]:  # QUANTIZE float -> int16 in, DEQUANTIZE out: TFLM does both
        xf = np.concatenate([x, np.full((2,) + x.shape[1:], -1e3, np.float32),
                             np.full((2,) + x.shape[1:], 1e3, np.float32)])
        ref = tflm.run(path, xf)[0]
        np.testing.assert_array_equal(np.asarray(m.run(xf)).reshape(ref.shape), ref)
        xq = m.quantize_input(xf)
    else:
        xq = _int16_inputs(m, x)
        ref = tflm.run(path, xq)[0]
        assert ref.dtype == np.int16
        ours = m.run_quantized([xq])[0]
        np.testing.assert_array_equal(ours.reshape(ref.shape), ref)
        np.testing.assert_array_equal(np.asarray(m.run(xq)).reshape(ref.shape), ref)  # raw int16 in/out
        assert len(np.unique(ref)) > 20  # not a saturated / constant output
    np.testing.assert_array_equal(m.run_quantized([xq])[0], run_int(g, [xq])[0])  # kernels == NumPy oracle


def test_int16x8_fixtures_bit_exact_with_tflite_reference_kernels():
    # tflite-runtime 2.14 has no TRANSPOSE_CONV version 4 (int16 with int64 bias): TFLM only there
    for name in [n for n in MODELS if n != "int16x8_transpose_conv"]:
        g, x = _load(name, 12)
        m = Model(g)
        xi = x if g.meta["tflite_float_io"] else _int16_inputs(m, x)
        ref = tflite_ref.run(DATA / f"{name}.tflite", xi)[0]
        ours = m.run(xi) if g.meta["tflite_float_io"] else m.run_quantized([xi])[0]
        np.testing.assert_array_equal(np.asarray(ours).reshape(ref.shape), ref, err_msg=name)


@pytest.mark.parametrize("name", ["int16x8_kws", "int16x8_conv1d"])
def test_int16x8_blob_round_trip(tmp_path, name):
    g, x = _load(name, 8)
    blob = tinycnn.load(convert(DATA / f"{name}.tflite", output=tmp_path / f"{name}.tcnn"))
    assert blob.graph.meta["scheme"] == "int16x8"
    xq = _int16_inputs(Model(g), x)
    np.testing.assert_array_equal(blob.run_quantized([xq])[0], tflm.run(DATA / f"{name}.tflite", xq)[0])


def test_unsupported_int16_op_is_refused_in_one_line(tmp_path):
    path = DATA / "int16x8_act.tflite"
    with pytest.raises(TinyCNNError) as err:
        convert(path, output=tmp_path / "act.tcnn")
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg and "(op SOFTMAX)" in msg
    assert "int16 activations" in msg and "CONV_2D" in msg and "AVERAGE_POOL_2D" in msg
    assert not (tmp_path / "act.tcnn").exists()


@pytest.mark.parametrize("name", ["int16x8_conv1d", "int16x8_mobilenet"])
def test_int16x8_every_layer_identical_to_tflm(name):
    """tinycnn compare: every intermediate int16 tensor equals TFLM's (LSB units)."""
    from tinycnn.compare import compare_tflite
    _, x = _load(name, 3)
    c = compare_tflite(DATA / f"{name}.tflite", x)
    assert c.unit == "LSB" and c.identical and len(c.layers) >= 8


@pytest.mark.parametrize("seed", range(4))
def test_leaky_relu_16x8_all_inputs_match_tflm(tmp_path, seed):
    """One imported int16 LEAKY_RELU, random scales and alpha, on all 65,536 int16 inputs."""
    rng = np.random.default_rng(1600 + seed)
    s_in, s_out = (float(v) for v in 10.0 ** rng.uniform(-5, -2, 2))
    alpha = float(rng.choice([0.01, 0.1, 0.3, 1.7, -0.25]) if seed else 0.2)
    w = ModelWriter()
    xi, oi = w.tensor((1, 65536), np.int16, s_in, 0), w.tensor((1, 65536), np.int16, s_out, 0)
    w.op("LEAKY_RELU", [xi], [oi], options("LeakyReluOptions", alpha=alpha))
    w.inputs, w.outputs = [xi], [oi]
    path = tmp_path / "leaky16.tflite"
    path.write_bytes(w.to_bytes())
    g = load_tflite(path)
    assert g.nodes[0].attrs["kernel_variant"] == "int16x8"
    x = np.arange(-32768, 32768, dtype=np.int16).reshape(1, -1)
    ref = tflm.run(path, [x])[0]
    np.testing.assert_array_equal(Model(g).run_quantized([x])[0], ref)
    np.testing.assert_array_equal(run_int(g, [x])[0], ref)
    assert len(np.unique(ref)) > 100


@pytest.mark.parametrize("op", ["LOGISTIC", "TANH"])
def test_sigmoid_tanh_16x8_all_inputs_match_tflm(tmp_path, op):
    """int16 LOGISTIC / TANH (TFLite's table + interpolation) on all 65,536 inputs, at power-of-two
    input scales (multiplier 0) and general ones."""
    x = np.arange(-32768, 32768, dtype=np.int16).reshape(1, -1)
    for s_in in (2.0 ** -12, 2.0 ** -11, 1e-4, 3.7e-4, 2.5e-5, 1.1e-3):
        w = ModelWriter()
        xi, oi = w.tensor((1, 65536), np.int16, s_in, 0), w.tensor((1, 65536), np.int16, 2.0 ** -15, 0)
        w.op(op, [xi], [oi])
        w.inputs, w.outputs = [xi], [oi]
        path = tmp_path / f"{op}_{s_in:g}.tflite"
        path.write_bytes(w.to_bytes())
        g = load_tflite(path)
        ref = tflm.run(path, [x])[0]
        np.testing.assert_array_equal(Model(g).run_quantized([x])[0], ref, err_msg=f"{op} scale {s_in}")
        np.testing.assert_array_equal(run_int(g, [x])[0], ref, err_msg=f"{op} scale {s_in}")


def test_sigmoid_output_scale_other_than_2_pow_minus_15_is_refused(tmp_path):
    w = ModelWriter()
    xi, oi = w.tensor((1, 8), np.int16, 1e-4, 0), w.tensor((1, 8), np.int16, 1e-4, 0)
    w.op("LOGISTIC", [xi], [oi])
    w.inputs, w.outputs = [xi], [oi]
    (tmp_path / "s.tflite").write_bytes(w.to_bytes())
    with pytest.raises(TinyCNNError, match=r"\(op LOGISTIC\): an int16 LOGISTIC/TANH output scale must be 2\^-15"):
        load_tflite(tmp_path / "s.tflite")


@pytest.mark.parametrize("seed", range(3))
def test_transpose_conv_16x8_matches_tflm(tmp_path, seed):
    """One imported int16 TRANSPOSE_CONV (int64 bias, per-channel int8 weights), random shapes."""
    rng = np.random.default_rng(1700 + seed)
    h, w, cin, cout = int(rng.integers(2, 5)), int(rng.integers(2, 5)), int(rng.integers(1, 4)), int(rng.integers(1, 5))
    k, s = int(rng.integers(2, 5)), int(rng.integers(1, 3))
    same = bool(seed % 2)
    oh, ow = (h * s, w * s) if same else ((h - 1) * s + k, (w - 1) * s + k)
    in_s, out_s = float(rng.uniform(1e-4, 1e-3)), float(rng.uniform(1e-4, 1e-3))
    w_s = rng.uniform(0.2, 3.0, size=cout) * out_s / in_s * 1e-3
    mw = ModelWriter()
    shape_t = mw.tensor((4,), np.int32, data=np.array([1, oh, ow, cout], np.int32))
    wt = mw.tensor((cout, k, k, cin), np.int8, w_s, [0] * cout,
                   data=rng.integers(-127, 128, size=(cout, k, k, cin)).astype(np.int8), qdim=0)
    xi = mw.tensor((1, h, w, cin), np.int16, in_s, 0)
    bt = mw.tensor((cout,), np.int64, in_s * w_s, [0] * cout,
                   data=rng.integers(-2 ** 20, 2 ** 20, size=cout).astype(np.int64), qdim=0)
    oi = mw.tensor((1, oh, ow, cout), np.int16, out_s, 0)
    mw.op("TRANSPOSE_CONV", [shape_t, wt, xi, bt], [oi],
          options("TransposeConvOptions", padding=0 if same else 1, strideH=s, strideW=s), version=3)
    mw.inputs, mw.outputs = [xi], [oi]
    path = tmp_path / "tconv16.tflite"
    path.write_bytes(mw.to_bytes())
    g = load_tflite(path)
    node = next(n for n in g.nodes if n.op.value == "TRANSPOSE_CONV")
    assert node.attrs["kernel_variant"] == "int16x8"
    x = rng.integers(-32768, 32768, size=(3, h, w, cin)).astype(np.int16)
    x[0], x[1] = -32768, 32767
    ref = tflm.run(path, x)[0]
    np.testing.assert_array_equal(Model(g).run_quantized([x])[0], ref)
    np.testing.assert_array_equal(run_int(g, [x])[0], ref)
    assert len(np.unique(ref)) > 3
