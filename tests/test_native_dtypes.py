"""Native dtypes at the edges (issue 10 item 3): raw int8/uint8 arrays go in unchanged and the
interpreter's own int8/uint8 outputs come out; float input to a float-interface TFLite model is
quantized with TFLite's float32 rounding; every other dtype is a clear error. Oracles: the
TFLite Micro interpreter, tflite-runtime's reference kernels (legacy uint8)."""
import numpy as np
import pytest

from converters.tflite import load_tflite
from tests.conftest import DATA, ROOT
from tinycnn.cli import main
from tinycnn.errors import TinyCNNError
from tinycnn.oracles import tflite_ref, tflm
from tinycnn.runtime import Model

TFL = DATA / "tflite"
INT8 = ["mobilenet_v1", "mobilenet_v2", "mobilenet_v3", "resnet", "inception", "ds_cnn_kws",
        "autoencoder", "misc_ops"]
RNG = np.random.default_rng(10)


def _raw_inputs(name, model, n=12):
    """int8 inputs as a user has them: the test images quantized with the interpreter's own
    input parameters (np.round, not tinycnn's code), plus uniformly random bytes."""
    det = tflm.input_details(TFL / f"{name}.tflite")[0]
    q = det["quantization_parameters"]
    x = np.load(TFL / f"{name}_data.npz")["x_test"][:n]
    xq = np.clip(np.round(x / q["scales"][0]) + q["zero_points"][0], -128, 127).astype(np.int8)
    shape = model.graph.tensors[model.graph.inputs[0]].shape[1:]
    return np.concatenate([xq, RNG.integers(-128, 128, (n,) + tuple(shape)).astype(np.int8)])


@pytest.mark.parametrize("name", INT8)
def test_raw_int8_in_gives_tflm_int8_out(name):
    model = Model(load_tflite(TFL / f"{name}.tflite"))
    x = _raw_inputs(name, model)
    got = model.run(x)
    ref = tflm.run(TFL / f"{name}.tflite", x)[0]
    assert got.dtype == np.int8 == ref.dtype
    np.testing.assert_array_equal(got, ref)


def test_raw_uint8_in_gives_reference_uint8_out():
    path = TFL / "legacy_uint8.tflite"
    model = Model(load_tflite(path))
    x = np.load(TFL / "legacy_uint8_data.npz")["x_test"][:40]
    xu = np.concatenate([np.clip(np.round(x * 255), 0, 255).astype(np.uint8),
                         RNG.integers(0, 256, (8,) + x.shape[1:]).astype(np.uint8)])
    got = model.run(xu)
    ref = tflite_ref.run(path, xu)[0]
    assert got.dtype == np.uint8 == ref.dtype
    np.testing.assert_array_equal(got, ref)


def _tie_inputs(scale, shape, n):
    """Values at (k + 0.5) * scale in float32 and their float32 neighbours: where a float64
    quotient x / scale rounds differently from TFLite's float32 one."""
    k = RNG.integers(-127, 127, (n,) + tuple(shape))
    base = ((k + 0.5) * np.float64(scale)).astype(np.float32)
    step = RNG.integers(-2, 3, base.shape)
    out = base.copy()
    for s in (-2, -1, 1, 2):
        sel = step == s
        v = base[sel]
        for _ in range(abs(s)):
            v = np.nextafter(v, np.float32(np.sign(s) * np.inf))
        out[sel] = v
    return out


def test_float_input_quantized_like_tflite_quantize_on_ties():
    path = TFL / "float_io.tflite"
    g = load_tflite(path)
    model = Model(g)
    t = g.tensors[g.inputs[0]]
    x = _tie_inputs(t.quant.scale[0], t.shape[1:], 6)
    idx = g.meta["tflite_tensor_index"][g.inputs[0]]  # the QUANTIZE op's int8 output
    for s in range(len(x)):
        ref = tflm.run_with_intermediates(path, x[s:s + 1])[idx]
        np.testing.assert_array_equal(model.quantize_input(x[s:s + 1]), ref.reshape(1, *t.shape[1:]))
    # and end to end: float in, float out, equal to the interpreter's float outputs
    np.testing.assert_array_equal(model.run(x), tflm.run(path, x)[0])


def test_int8_model_refuses_other_dtypes():
    model = Model(load_tflite(TFL / "mobilenet_v1.tflite"))
    with pytest.raises(TinyCNNError, match=r"dtype uint8.*int8 \(raw"):
        model.run(np.zeros((2, 16, 16, 1), np.uint8))
    with pytest.raises(TinyCNNError, match="dtype int64"):
        model.run(np.zeros((2, 16, 16, 1), np.int64))


def test_float_interface_model_takes_only_float():
    model = Model(load_tflite(TFL / "float_io.tflite"))
    with pytest.raises(TinyCNNError, match="dtype int8; this model takes float"):
        model.run(np.zeros((1, 16, 16, 1), np.int8))


def test_uint8_model_refuses_int8():
    model = Model(load_tflite(TFL / "legacy_uint8.tflite"))
    with pytest.raises(TinyCNNError, match="or uint8"):
        model.run(np.zeros((1, 16, 16, 1), np.int8))


def test_run_quantized_refuses_casts_and_broadcasts():
    model = Model(load_tflite(TFL / "mobilenet_v1.tflite"))
    with pytest.raises(TinyCNNError, match="dtype uint8; it must be int8"):
        model.run_quantized([np.zeros((2, 16, 16, 1), np.uint8)])
    with pytest.raises(TinyCNNError, match=r"shape \(2, 16, 16\); it must be \(N, 16, 16, 1\)"):
        model.run_quantized([np.zeros((2, 16, 16), np.int8)])
    with pytest.raises(TinyCNNError, match=r"shape \(2, 1, 16, 1\)"):
        model.run_quantized([np.zeros((2, 1, 16, 1), np.int8)])


def test_cli_run_raw_uint8_and_int8(tmp_path):
    for name, dtype, oracle in (("mobilenet_v2", np.int8, tflm.run), ("legacy_uint8", np.uint8, tflite_ref.run)):
        blob = tmp_path / f"{name}.tcnn"
        assert main(["convert", str(TFL / f"{name}.tflite"), "-o", str(blob), "--quiet"]) == 0
        info = np.iinfo(dtype)
        x = RNG.integers(info.min, info.max + 1, (6, 16, 16, 1)).astype(dtype)
        np.save(tmp_path / "x.npy", x)
        assert main(["run", str(blob), "-i", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy")]) == 0
        y = np.load(tmp_path / "y.npy")
        assert y.dtype == dtype
        np.testing.assert_array_equal(y, oracle(TFL / f"{name}.tflite", x)[0])


def test_cli_run_refuses_wrong_dtype(tmp_path, capsys):
    blob = tmp_path / "d.tcnn"
    assert main(["convert", str(ROOT / "examples" / "digits_cnn.onnx"), "--calib",
                 str(ROOT / "examples" / "digits_calib.npz"), "-o", str(blob), "--quiet"]) == 0
    np.save(tmp_path / "x.npy", np.zeros((2, 1, 8, 8), np.uint8))
    assert main(["run", str(blob), "-i", str(tmp_path / "x.npy")]) == 2
    assert "dtype uint8" in capsys.readouterr().err


def test_cli_compare_takes_raw_int8(tmp_path, capsys):
    x = _raw_inputs("resnet", Model(load_tflite(TFL / "resnet.tflite")), n=2)
    np.save(tmp_path / "x.npy", x)
    assert main(["compare", str(TFL / "resnet.tflite"), "-i", str(tmp_path / "x.npy"), "--samples", "4"]) == 0
    assert "all layers identical" in capsys.readouterr().out
    np.save(tmp_path / "bad.npy", x.astype(np.int16))
    assert main(["compare", str(TFL / "resnet.tflite"), "-i", str(tmp_path / "bad.npy")]) == 2


def test_eval_legacy_uint8_against_tflite_runtime(tmp_path, capfd):
    """TFLM refuses legacy uint8 models: eval falls back to tflite-runtime's reference kernels,
    feeding both sides the same uint8 inputs and comparing the uint8 outputs."""
    import json
    blob = tmp_path / "u.tcnn"
    assert main(["convert", str(TFL / "legacy_uint8.tflite"), "-o", str(blob), "--quiet"]) == 0
    capfd.readouterr()
    js = tmp_path / "m.json"
    assert main(["eval", str(blob), "-r", str(TFL / "legacy_uint8.tflite"), "-d",
                 str(TFL / "legacy_uint8_data.npz"), "--json", str(js)]) == 0
    out = capfd.readouterr().out
    assert "run by tflite-runtime reference kernels" in out and "Hybrid" not in out
    m = json.loads(js.read_text())
    assert m["native_integers"] and m["identical_fraction"] == 1.0


def test_eval_float_tflite_runs_in_tflm(tmp_path, capsys):
    blob = tmp_path / "f.tcnn"
    assert main(["convert", str(TFL / "float32.tflite"), "--calib", str(TFL / "float32_data.npz"),
                 "-o", str(blob), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["eval", str(blob), "-r", str(TFL / "float32.tflite"), "-d", str(TFL / "float32_data.npz")]) == 0
    out = capsys.readouterr().out
    assert "run by TFLite Micro interpreter" in out and "top-1 agreement with the reference" in out


def test_eval_with_raw_int8_data(tmp_path):
    import json
    model = Model(load_tflite(TFL / "inception.tflite"))
    x = _raw_inputs("inception", model, n=10)
    np.savez(tmp_path / "raw.npz", x=x)
    blob = tmp_path / "i.tcnn"
    assert main(["convert", str(TFL / "inception.tflite"), "-o", str(blob), "--quiet"]) == 0
    js = tmp_path / "m.json"
    assert main(["eval", str(blob), "-r", str(TFL / "inception.tflite"), "-d", str(tmp_path / "raw.npz"),
                 "--json", str(js)]) == 0
    m = json.loads(js.read_text())
    assert m["n"] == 20 and m["identical_fraction"] == 1.0
    np.savez(tmp_path / "u8.npz", x=x.view(np.uint8))
    assert main(["eval", str(blob), "-r", str(TFL / "inception.tflite"), "-d", str(tmp_path / "u8.npz")]) == 2
