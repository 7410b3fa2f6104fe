"""TFLite files as found in the wild: hybrid / dynamic-range (int8 weights with scales, float
activations), float16 weights behind DEQUANTIZE, and 1-D biases whose quantization carries
quantized_dimension=3. Oracles: LiteRT (ai-edge-litert; tflite-runtime 2.14 is too old for the
TF 2.21 converter's FULLY_CONNECTED v12) and TFLite Micro."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from converters.tflite import load_tflite
from tests.tflite_builders import ModelWriter, options
from tinycnn.convert import convert, import_model, quantize_graph
from tinycnn.errors import UnsupportedModelError
from tinycnn.oracles import tflm
from tinycnn.quant.int8 import QuantConfig
from tinycnn.runtime import Model, load

DATA = Path(__file__).parent / "data" / "tflite"


def litert_run(path, x, reference_kernels=True):
    """Run a float-interface .tflite sample by sample with LiteRT."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    kind = OpResolverType.BUILTIN_REF if reference_kernels else OpResolverType.AUTO
    it = Interpreter(model_path=str(path), num_threads=1, experimental_op_resolver_type=kind)
    it.allocate_tensors()
    ind, outd = it.get_input_details()[0], it.get_output_details()[0]
    out = []
    for k in range(len(x)):
        it.set_tensor(ind["index"], x[k:k + 1].astype(np.float32))
        it.invoke()
        out.append(it.get_tensor(outd["index"])[0].copy())
    return np.asarray(out)


def _data(name):
    d = np.load(DATA / f"{name}_data.npz")
    return d["x_test"].astype(np.float32), d["y_test"]


def test_hybrid_weights_are_dequantized_not_raw():
    g = load_tflite(DATA / "hybrid_kws.tflite")
    assert g.meta["scheme"] == "float32"
    convs = [n for n in g.nodes if n.op.value in ("CONV_2D", "FULLY_CONNECTED")]
    weights = [g.tensors[n.inputs[1]] for n in convs]
    assert all(w.dtype == "float32" for w in weights)
    # the file really is hybrid: int8 weights with per-channel scales
    from converters.tflite_format import read_tflite
    m = read_tflite(DATA / "hybrid_kws.tflite")
    q = [t for t in m.tensors if t.data is not None and t.data.dtype == np.int8]
    assert len(q) >= 4 and any(t.scale.size > 1 for t in q)
    assert max(float(np.abs(w.data).max()) for w in weights) < 10  # raw int8 would reach 127


def test_hybrid_float32_matches_litert():
    x, y = _data("hybrid_kws")
    g = import_model(DATA / "hybrid_kws.tflite")
    ours = np.asarray(Model(g).run(x)).reshape(len(x), -1)
    # LiteRT's hybrid kernels quantize the activations on the fly: close, not identical
    ref = litert_run(DATA / "hybrid_kws.tflite", x)
    assert np.abs(ours - ref).max() < 0.02
    assert (ours.argmax(1) == ref.argmax(1)).mean() >= 0.98
    assert (ours.argmax(1) == y).mean() >= 0.75


def test_hybrid_converts_to_int8_with_calibration(tmp_path):
    x, _ = _data("hybrid_kws")
    blob = convert(DATA / "hybrid_kws.tflite", calib=x[:64], output=tmp_path / "h.tcnn")
    m = load(blob)
    ours = np.asarray(m.run(x)).reshape(len(x), -1)
    ref = litert_run(DATA / "hybrid_kws.tflite", x)
    assert (ours.argmax(1) == ref.argmax(1)).mean() >= 0.9


def test_fp16_weights_match_litert(tmp_path):
    x, y = _data("fp16_cnn")
    path = DATA / "fp16_cnn.tflite"
    g = import_model(path)
    assert g.meta["scheme"] == "float32" and not any(n.op.value == "DEQUANTIZE" for n in g.nodes)
    ours = np.asarray(Model(g).run(x)).reshape(len(x), -1)
    np.testing.assert_allclose(ours, litert_run(path, x), atol=2e-6)
    # (TFLite Micro cannot run it: its DEQUANTIZE takes int8/int16/uint8 only)
    blob = convert(path, scheme="float32", output=tmp_path / "f.tcnn")
    np.testing.assert_allclose(np.asarray(load(blob).run(x)).reshape(len(x), -1), ours, atol=1e-6)
    q = quantize_graph(import_model(path), x[:64], QuantConfig())
    assert (np.asarray(Model(q).run(x)).argmax(1) == y).mean() >= 0.85


def test_bias_quantized_dimension_3_is_normalized(tmp_path):
    path = DATA / "bias_qdim3.tflite"
    from converters.tflite_format import read_tflite
    biases = [t for t in read_tflite(path).tensors if t.data is not None and t.data.ndim == 1
              and t.quantized]
    assert biases and all(t.quantized_dimension == 3 for t in biases)
    x, _ = _data("bias_qdim3")
    blob = convert(path, output=tmp_path / "p.tcnn")
    m = load(blob)  # the blob a user gets must load
    xq = m.quantize_input(x[:30])
    ref = tflm.run(path, xq)[0]
    np.testing.assert_array_equal(np.asarray(m.run_quantized([xq])[0]).reshape(ref.shape), ref)


def _float_conv_with_int8_weights(tmp_path, scale):
    """A float model whose CONV_2D weights are int8 constants (with or without scales)."""
    w = ModelWriter()
    x = w.tensor([1, 4, 4, 2], np.float32)
    k = np.arange(-12, 12, dtype=np.int8).reshape(3, 2, 2, 2)
    wt = w.tensor([3, 2, 2, 2], np.int8, scale, None if scale is None else np.zeros(3, np.int64),
                  data=k, qdim=0)
    b = w.tensor([3], np.float32, data=np.array([0.5, -0.5, 0.0], np.float32))
    out = w.tensor([1, 3, 3, 3], np.float32, name="conv_out")
    w.op("CONV_2D", [x, wt, b], [out], options("Conv2DOptions", padding=1, strideW=1, strideH=1))
    w.inputs, w.outputs = [x], [out]
    p = tmp_path / "hyb.tflite"
    p.write_bytes(w.to_bytes())
    return p, k


def test_single_op_hybrid_conv_per_channel_matches_tflm_definition(tmp_path):
    scale = np.array([0.01, 0.02, 0.05], np.float32)
    p, k = _float_conv_with_int8_weights(tmp_path, scale)
    g = load_tflite(p)
    wname = [n for n in g.nodes if n.op.value == "CONV_2D"][0].inputs[1]
    np.testing.assert_allclose(g.tensors[wname].data, k * scale[:, None, None, None], rtol=1e-6)
    x = np.random.default_rng(0).standard_normal((5, 4, 4, 2)).astype(np.float32)
    ref = litert_run(p, x)
    np.testing.assert_allclose(np.asarray(Model(g).run(x)).reshape(ref.shape), ref, atol=0.05)


def test_int8_constant_without_scales_in_float_model_is_refused(tmp_path):
    p, _ = _float_conv_with_int8_weights(tmp_path, None)
    with pytest.raises(UnsupportedModelError, match="int8 constant without quantization scales"):
        load_tflite(p)


def _prelu_file(tmp_path, dtype, seed):
    rng = np.random.default_rng(seed)
    c = 6
    w = ModelWriter()
    q = dtype == np.int8
    x = w.tensor([1, 3, 4, c], dtype, *((rng.uniform(0.01, 0.1), int(rng.integers(-20, 20))) if q else (None, None)))
    alpha = rng.uniform(-1.5, 1.5, (1, 1, c)).astype(np.float32)
    a_scale = float(np.abs(alpha).max() / 127)
    a = w.tensor([1, 1, c], dtype, *((a_scale, int(rng.integers(-5, 5))) if q else (None, None)),
                 data=np.clip(np.round(alpha / a_scale), -127, 127).astype(np.int8) if q else alpha)
    out = w.tensor([1, 3, 4, c], dtype, *((rng.uniform(0.01, 0.1), int(rng.integers(-20, 20))) if q else (None, None)))
    w.op("PRELU", [x, a], [out])
    w.inputs, w.outputs = [x], [out]
    p = tmp_path / f"prelu_{seed}.tflite"
    p.write_bytes(w.to_bytes())
    return p


@pytest.mark.parametrize("seed", range(6))
def test_prelu_int8_single_op_bit_exact_with_tflm(tmp_path, seed):
    p = _prelu_file(tmp_path, np.int8, seed)
    m = Model(load_tflite(p))
    xq = np.random.default_rng(seed).integers(-128, 128, (40, 3, 4, 6)).astype(np.int8)
    ref = tflm.run(p, xq)[0]
    np.testing.assert_array_equal(np.asarray(m.run_quantized([xq])[0]).reshape(ref.shape), ref)


def test_prelu_float_matches_litert(tmp_path):
    p = _prelu_file(tmp_path, np.float32, 7)
    x = np.random.default_rng(7).standard_normal((10, 3, 4, 6)).astype(np.float32)
    ref = litert_run(p, x)
    np.testing.assert_allclose(np.asarray(Model(load_tflite(p)).run(x)).reshape(ref.shape), ref, atol=1e-6)
