"""Multi-output models (issue 10 item 7) and eval against the source model in its own framework
(issue 17 item 3). Oracles: ONNX Runtime, the TFLite Micro interpreter."""
import json

import numpy as np
import onnx
import pytest

import tinycnn
from tests.conftest import DATA
from tests.wild_onnx_models import multi_output_cnn, ort
from tinycnn.cli import main
from tinycnn.oracles import tflm

WILD = DATA / "wild"
TFL = DATA / "tflite"
NAMES = ["logits", "mask", "embedding"]


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("multi")
    onnx.save(multi_output_cnn(), d / "multi.onnx")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((96, 1, 8, 8)).astype(np.float32)
    np.savez(d / "data.npz", x_calib=x[:64], x_test=x[64:], y_test=rng.integers(0, 4, 32))
    blob = tinycnn.convert(d / "multi.onnx", calib=x[:64], output=d / "multi.tcnn")
    return d, x[64:], blob


def test_float32_blob_every_output_matches_ort(onnx_model, tmp_path):
    d, x, _ = onnx_model
    blob = tinycnn.convert(d / "multi.onnx", scheme="float32", output=tmp_path / "f.tcnn")
    got = tinycnn.load(blob).run(x)
    for g, r in zip(got, ort(d / "multi.onnx", x)):
        assert g.shape == r.shape
        np.testing.assert_allclose(g, r, atol=2e-5)


def test_run_writes_one_npz_key_per_output(onnx_model, tmp_path, capsys):
    d, x, blob = onnx_model
    np.save(tmp_path / "x.npy", x)
    assert main(["run", str(blob), "-i", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy")]) == 0
    assert "wrote " + str(tmp_path / "y.npz") in capsys.readouterr().out
    with np.load(tmp_path / "y.npz") as z:
        assert z.files == NAMES
        ours = tinycnn.load(blob).run(x)
        refs = ort(d / "multi.onnx", x)
        for k, name in enumerate(NAMES):
            np.testing.assert_array_equal(z[name], ours[k])
            r = refs[k]
            assert 10 * np.log10(np.sum(r ** 2) / np.sum((r - z[name]) ** 2)) > 25, name


def test_eval_compares_each_output(onnx_model, tmp_path, capsys):
    d, _, blob = onnx_model
    js = tmp_path / "m.json"
    assert main(["eval", str(blob), "-r", str(d / "multi.onnx"), "-d", str(d / "data.npz"), "--json", str(js)]) == 0
    out = capsys.readouterr().out
    assert "run by ONNX Runtime" in out and "output 1 (mask):" in out
    m = json.loads(js.read_text())
    assert [o["name"] for o in m["outputs"]] == NAMES
    logits, mask, _ = m["outputs"]
    assert "accuracy_test" in logits and logits["top1_agreement"] >= 0.9
    assert "top1_agreement" not in mask and mask["sqnr_db"] > 25  # a feature map: no top-1


def test_tflite_multi_output_raw_equals_tflm(tmp_path, capsys):
    path = WILD / "multi_output.tflite"
    blob = tmp_path / "m.tcnn"
    assert main(["convert", str(path), "-o", str(blob), "--quiet"]) == 0
    model = tinycnn.load(blob)
    rng = np.random.default_rng(5)
    x = rng.integers(-128, 128, (24, 8, 8, 1)).astype(np.int8)
    got, refs = model.run(x), tflm.run(path, x)
    assert len(got) == len(refs) == 2
    for g, r in zip(got, refs):
        assert g.dtype == r.dtype == np.int8
        np.testing.assert_array_equal(g, r)
    np.save(tmp_path / "x.npy", x)
    assert main(["run", str(blob), "-i", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npz")]) == 0
    with np.load(tmp_path / "y.npz") as z:
        assert z.files == model.output_names
        for name, r in zip(z.files, refs):
            np.testing.assert_array_equal(z[name], r)
    capsys.readouterr()
    assert main(["eval", str(blob), "-r", str(path), "-d", str(WILD / "multi_output_data.npz")]) == 0
    out = capsys.readouterr().out
    assert "run by TFLite Micro interpreter" in out and "inf" not in out
    assert out.count("100.00% of values identical") == 2 and out.count("top-1 accuracy") == 1


def test_eval_of_an_int8_tflite_says_what_it_compares(tmp_path, capsys):
    blob = tmp_path / "ae.tcnn"
    assert main(["convert", str(TFL / "autoencoder.tflite"), "-o", str(blob), "--quiet"]) == 0
    js = tmp_path / "ae.json"
    assert main(["eval", str(blob), "-r", str(TFL / "autoencoder.tflite"), "-d", str(TFL / "autoencoder_data.npz"),
                 "--json", str(js)]) == 0
    out = capsys.readouterr().out
    assert "integer outputs compared with the interpreter's own" in out and "SQNR" not in out
    assert "top-1" not in out  # a reconstruction, not a classifier (y_test labels are ignored)
    m = json.loads(js.read_text())
    assert m["native_integers"] and m["identical_fraction"] == 1.0 and m["max_abs_diff_lsb"] == 0


def test_eval_runs_a_tflite_source_in_tflm_so_an_import_bug_shows(tmp_path, monkeypatch, capsys):
    """Break the importer (weights off by one LSB); the blob and tinycnn's own float IR would
    still agree with each other, TFLite Micro does not."""
    import converters.tflite as importer
    real = importer.load_tflite

    def broken(path):
        g = real(path)
        for t in g.tensors.values():
            if t.is_const and t.data.dtype == np.int8 and t.data.ndim == 4:
                t.data = np.clip(t.data.astype(np.int16) + 1, -127, 127).astype(np.int8)
        return g
    monkeypatch.setattr(importer, "load_tflite", broken)
    blob = tmp_path / "bad.tcnn"
    assert main(["convert", str(TFL / "mobilenet_v1.tflite"), "-o", str(blob), "--quiet"]) == 0
    js = tmp_path / "bad.json"
    assert main(["eval", str(blob), "-r", str(TFL / "mobilenet_v1.tflite"), "-d", str(TFL / "mobilenet_v1_data.npz"),
                 "--json", str(js)]) == 0
    assert json.loads(js.read_text())["identical_fraction"] < 0.9


def test_eval_keras_reference_is_labelled(tmp_path, capsys):
    h5 = DATA / "keras" / "vgg.h5"
    blob = tmp_path / "k.tcnn"
    assert main(["convert", str(h5), "--calib", str(DATA / "keras" / "vgg_data.npz"), "-o", str(blob), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["eval", str(blob), "-r", str(h5), "-d", str(DATA / "keras" / "vgg_data.npz")]) == 0
    assert "NumPy float reference (no Keras interpreter here" in capsys.readouterr().out


def test_eval_refuses_integer_data_for_a_float_reference(onnx_model, tmp_path, capsys):
    d, x, blob = onnx_model
    np.savez(tmp_path / "ints.npz", x=np.round(x * 10).astype(np.int8))
    assert main(["eval", str(blob), "-r", str(d / "multi.onnx"), "-d", str(tmp_path / "ints.npz")]) == 2
    assert "dtype int8" in capsys.readouterr().err
