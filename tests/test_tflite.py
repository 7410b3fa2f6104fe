"""TFLite import: every fixture bit-exact with TFLite Micro (tflite-runtime reference kernels for
the uint8 model TFLM cannot run), float import vs TFLM float, and bad-input errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from converters.tflite import load_tflite
from tests.tflite_builders import ModelWriter, options
from tinycnn.errors import TinyCNNError, UnsupportedModelError
from tinycnn.oracles import tflite_ref, tflm
from tinycnn.reference.int_ops import run_int
from tinycnn.runtime import Model

DATA = Path(__file__).parent / "data" / "tflite"
NAMES = sorted(p.stem for p in DATA.glob("*.tflite"))
INT8 = [n for n in NAMES if n not in ("float32", "legacy_uint8", "hybrid_kws", "fp16_cnn")
        and not n.startswith("int16x8")]  # int16x8: tests/test_tflite_int16x8.py
N_SAMPLES = 50


def _load(name):
    g = load_tflite(DATA / f"{name}.tflite")
    x = np.load(DATA / f"{name}_data.npz")["x_test"][:N_SAMPLES].astype(np.float32)
    return g, x


def _with_saturating(m: Model, x):
    g = m.graph
    shape = (len(x),) + tuple(g.tensors[g.inputs[0]].shape[1:])
    xq = m.quantize_input(x.reshape(shape))
    extremes = np.stack([np.full(shape[1:], -128, np.int8), np.full(shape[1:], 127, np.int8)])
    return np.concatenate([xq, extremes])


def test_fixture_list_complete():
    assert {"mobilenet_v1", "mobilenet_v2", "mobilenet_v3", "resnet", "inception", "misc_ops",
            "float_io", "legacy_uint8", "float32"} <= set(NAMES)


@pytest.mark.parametrize("name", INT8)
def test_int8_fixture_bit_exact_with_tflm(name):
    g, x = _load(name)
    assert g.meta["scheme"] == "int8"
    m = Model(g)
    xq = _with_saturating(m, x)
    ours = m.run_quantized([xq])[0]
    np.testing.assert_array_equal(ours, run_int(g, [xq])[0])  # kernels == NumPy oracle
    path = DATA / f"{name}.tflite"
    if g.meta["tflite_float_io"]:
        # float interface: TFLM quantizes and dequantizes itself; include saturating inputs
        xf = np.concatenate([x, np.full((2,) + x.shape[1:], -1e3, np.float32),
                             np.full((2,) + x.shape[1:], 1e3, np.float32)])
        ref = tflm.run(path, xf)[0]
        np.testing.assert_array_equal(np.asarray(m.run(xf)).reshape(ref.shape), ref)
    else:
        ref = tflm.run(path, xq)[0]
        assert ref.dtype == np.int8
        np.testing.assert_array_equal(ours.reshape(ref.shape), ref)


def test_legacy_uint8_bit_exact_with_tflite_reference_kernels():
    assert tflite_ref.available(), f"tflite-runtime side venv missing: {tflite_ref.INSTALL_HINT}"
    g, x = _load("legacy_uint8")
    assert g.meta["tflite_uint8"]
    m = Model(g)
    xq = _with_saturating(m, x)  # int8 = uint8 - 128 (0 and 255 are the extremes)
    xu8 = (xq.astype(np.int16) + 128).astype(np.uint8)
    ref = tflite_ref.run(DATA / "legacy_uint8.tflite", xu8)[0]
    assert ref.dtype == np.uint8
    ours = m.run_quantized([xq])[0].astype(np.int16) + 128
    np.testing.assert_array_equal(ours.reshape(ref.shape), ref)


def test_float32_model_matches_tflm_float():
    from tinycnn.convert import import_model
    path = DATA / "float32.tflite"
    g = import_model(path)
    assert g.meta["scheme"] == "float32"
    x = np.load(DATA / "float32_data.npz")["x_test"][:N_SAMPLES].astype(np.float32)
    ref = tflm.run(path, x)[0]
    np.testing.assert_allclose(Model(g).run(x), ref, atol=2e-6, rtol=1e-5)


def test_float32_model_quantizes_and_keeps_accuracy():
    from tinycnn.convert import import_model, quantize_graph
    from tinycnn.quant.int8 import QuantConfig
    d = np.load(DATA / "float32_data.npz")
    g = quantize_graph(import_model(DATA / "float32.tflite"), d["x_test"][:64].astype(np.float32),
                       QuantConfig())
    y = Model(g).run(d["x_test"].astype(np.float32))
    acc = float((y.argmax(1) == d["y_test"]).mean())
    assert acc > 0.85


def test_info_names_and_tensor_indices():
    g, _ = _load("mobilenet_v3")
    ops = {n.attrs["source_op"] for n in g.nodes}
    assert {"HARD_SWISH", "MEAN", "MUL", "SOFTMAX"} <= ops
    idx = g.meta["tflite_tensor_index"]
    assert all(g.tensors[name] is not None for name in idx if name in g.tensors)
    assert len(idx) >= len(g.nodes)


# ------------------------------------------------------------------ bad input

def test_not_a_flatbuffer(tmp_path):
    p = tmp_path / "junk.tflite"
    p.write_bytes(b"hello")
    with pytest.raises(TinyCNNError, match="not a TFLite flatbuffer"):
        load_tflite(p)


def test_wrong_file_identifier(tmp_path):
    data = bytearray((DATA / "resnet.tflite").read_bytes())
    data[4:8] = b"XXXX"
    p = tmp_path / "bad_id.tflite"
    p.write_bytes(bytes(data))
    with pytest.raises(TinyCNNError, match="file identifier"):
        load_tflite(p)


def _writer_with(op_name=None, custom=None):
    w = ModelWriter()
    a = w.tensor([1, 4], np.int8, 0.1, 0)
    out = w.tensor([1, 4], np.int8, 0.1, 0, name="the_output")
    w.op(op_name, [a], [out], custom=custom)
    w.inputs, w.outputs = [a], [out]
    return w


def test_unsupported_builtin_is_named(tmp_path):
    p = tmp_path / "exp.tflite"
    p.write_bytes(_writer_with("EXP").to_bytes())
    with pytest.raises(UnsupportedModelError, match="'EXP' is not supported") as e:
        load_tflite(p)
    assert "the_output" in str(e.value) and "supported ops" in str(e.value)


def test_custom_op_is_named(tmp_path):
    p = tmp_path / "custom.tflite"
    p.write_bytes(_writer_with(custom=b"MyFancyOp").to_bytes())
    with pytest.raises(UnsupportedModelError, match="custom op 'MyFancyOp'"):
        load_tflite(p)


def test_two_subgraphs_rejected(tmp_path):
    p = tmp_path / "two.tflite"
    p.write_bytes(_writer_with("RELU").to_bytes(n_subgraphs=2))
    with pytest.raises(UnsupportedModelError, match="2 subgraphs"):
        load_tflite(p)


def test_hybrid_dequantize_rejected(tmp_path):
    w = ModelWriter()
    a = w.tensor([1, 4], np.int8, 0.1, 0)
    f = w.tensor([1, 4], np.float32)
    out = w.tensor([1, 4], np.float32)
    w.op("DEQUANTIZE", [a], [f])
    w.op("RELU", [f], [out])
    w.inputs, w.outputs = [a], [out]
    p = tmp_path / "hybrid.tflite"
    p.write_bytes(w.to_bytes())
    with pytest.raises(UnsupportedModelError, match="DEQUANTIZE"):
        load_tflite(p)


def test_conv_options_fused_tanh_rejected(tmp_path):
    w = ModelWriter()
    x = w.tensor([1, 4, 4, 2], np.int8, 0.1, 0)
    wt = w.tensor([3, 1, 1, 2], np.int8, [0.01] * 3, [0] * 3, data=np.ones((3, 1, 1, 2)))
    out = w.tensor([1, 4, 4, 3], np.int8, 0.1, 0)
    w.op("CONV_2D", [x, wt, -1], [out], options("Conv2DOptions", padding=1, strideW=1, strideH=1,
                                                   fusedActivationFunction=4))
    w.inputs, w.outputs = [x], [out]
    p = tmp_path / "fused_tanh.tflite"
    p.write_bytes(w.to_bytes())
    with pytest.raises(UnsupportedModelError, match="fused activation"):
        load_tflite(p)


@pytest.mark.parametrize("name", ["mobilenet_v3", "legacy_uint8", "misc_ops"])
def test_blob_round_trip_keeps_bit_exactness(tmp_path, name):
    import tinycnn
    from tinycnn.convert import convert
    g, x = _load(name)
    blob = tinycnn.load(convert(DATA / f"{name}.tflite", output=tmp_path / f"{name}.tcnn"))
    xq = _with_saturating(Model(g), x[:8])
    np.testing.assert_array_equal(blob.run_quantized([xq])[0], Model(g).run_quantized([xq])[0])
