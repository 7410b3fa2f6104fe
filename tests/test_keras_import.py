"""Keras importer (.keras / Keras 3 .h5 / Keras 2 .h5) against Keras' own outputs saved in the
fixtures (tests/data/keras/*_data.npz, key y_keras), with no TensorFlow or Keras installed."""
from __future__ import annotations

import io
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import tinycnn
from tinycnn.cli import main as cli_main
from tinycnn.convert import import_model
from tinycnn.errors import TinyCNNError
from tinycnn.reference.float_ops import run_float

DATA = Path(__file__).parent / "data" / "keras"
MODELS = sorted(p.name for p in list(DATA.glob("*.keras")) + list(DATA.glob("*.h5"))
                if not p.name.startswith("lambda_bad"))
EXPECTED = ["seed_sigmoid.keras", "seed_sigmoid.h5", "legacy_seed_sigmoid.h5", "vgg.keras",
            "mobilenet_v1.keras", "mobilenet_v2.h5", "mobilenet_v3.keras", "resnet.keras",
            "inception.keras", "nested.keras", "nested.h5", "legacy_nested.h5", "conv1d.keras",
            "legacy_vgg.h5", "legacy_mobilenet_v2.h5"]


def fixture_data(name):
    return np.load(DATA / (name.rsplit(".", 1)[0] + "_data.npz"))


def load_graph(name):
    with warnings.catch_warnings():  # the .keras backend assumption warning (inception)
        warnings.simplefilter("ignore")
        return import_model(DATA / name)


def test_fixtures_present():
    missing = [m for m in EXPECTED if m not in MODELS]
    assert not missing, f"Keras fixtures missing: {missing}"


@pytest.mark.parametrize("name", MODELS)
def test_float_matches_keras(name):
    d = fixture_data(name)
    g = load_graph(name)
    assert g.meta["input_layouts"][0] in ("NHWC", "NLC")
    y = run_float(g, [d["x_test"]])[0]
    y_keras = d["y_keras"]
    assert y.shape == y_keras.shape
    scale = float(np.abs(y_keras).max())
    np.testing.assert_allclose(y, y_keras, rtol=1e-4, atol=1e-4 * scale)


@pytest.mark.parametrize("name", MODELS)
def test_int8_top1_agrees_with_keras(name, tmp_path):
    d = fixture_data(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        blob = tinycnn.convert(DATA / name, calib=d["x_calib"], output=tmp_path / "m.tcnn")
    y = tinycnn.load(blob).run(d["x_test"])
    ref = d["y_keras"].argmax(-1)
    # int8 softmax outputs move in steps of 1/256: equal top scores are a tie, not a choice;
    # count Keras' class as agreed when it is among the int8 maxima.
    agree = y[np.arange(len(y)), ref] == y.max(-1)
    assert agree.mean() >= 0.98, f"{name}: int8 top-1 agreement {agree.mean():.3f}"
    strict = (y.argmax(-1) == ref).mean()
    assert strict >= 0.97, f"{name}: strict int8 argmax agreement {strict:.3f}"


def test_info_lists_keras_layer_names(tmp_path):
    d = fixture_data("nested.keras")
    blob = tinycnn.convert(DATA / "nested.keras", calib=d["x_calib"][:50], output=tmp_path / "n.tcnn")
    rows = tinycnn.info(blob)["rows"]
    names = {r["name"] for r in rows}
    assert {"backbone/bb_conv1", "backbone/bb_prelu", "shared_conv", "sub", "crop",
            "head/head_fc1"} <= names, names
    assert {r["source_op"] for r in rows} >= {"Conv2D", "PReLU", "Subtract", "Dense"}
    g = load_graph("mobilenet_v1.keras")
    assert any(n.attrs.get("source_name") == "sep_conv" and
               n.attrs.get("source_op") == "SeparableConv2D" for n in g.nodes)


def test_seed_sigmoid_structure():
    """The classic Conv2D -> Activation('sigmoid') -> MaxPooling2D -> ... -> Dense -> softmax."""
    g = load_graph("seed_sigmoid.keras")
    ops = [n.op.value for n in g.nodes]
    assert ops.count("SIGMOID") == 3 and ops[-1] == "SOFTMAX" and "TRANSPOSE" not in ops
    assert g.meta["input_layouts"] == ["NHWC"]


def test_importer_does_not_import_tensorflow_or_keras():
    code = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('tensorflow', 'keras', 'tf_keras', 'jax', 'torch'):
            raise ImportError('forbidden import: ' + name)
        return None
sys.meta_path.insert(0, Block())
import warnings; warnings.simplefilter('ignore')
from converters import load_model
for f in ('nested.keras', 'nested.h5', 'legacy_nested.h5', 'conv1d.keras'):
    g = load_model({str(DATA)!r} + '/' + f)
    assert len(g.nodes) > 5
bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras')]
assert not bad, bad
print('ok')
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=Path(__file__).parent.parent)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-2000:]


# ---------------------------------------------------------------- bad input
def _truncated(src, dst):
    dst.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    return dst


def _zip_without_config(tmp):
    p = tmp / "noconfig.keras"
    with zipfile.ZipFile(DATA / "vgg.keras") as zin, zipfile.ZipFile(p, "w") as zout:
        for item in zin.namelist():
            if item != "config.json":
                zout.writestr(item, zin.read(item))
    return p


def _h5_without_config(tmp):
    p = tmp / "weights_only.h5"
    with h5py.File(DATA / "vgg.h5", "r") as src, h5py.File(p, "w") as dst:
        src.copy("model_weights", dst)
    return p


def _h5_wrong_shape(tmp):
    p = tmp / "wrong_shape.h5"
    p.write_bytes((DATA / "legacy_vgg.h5").read_bytes())
    with h5py.File(p, "r+") as f:
        grp = f["model_weights/conv2d/conv2d"]
        del grp["kernel:0"]
        grp["kernel:0"] = np.zeros((5, 5, 1, 8), np.float32)
    return p


def _keras_wrong_shape(tmp):
    p = tmp / "wrong_shape.keras"
    with zipfile.ZipFile(DATA / "vgg.keras") as zin, zipfile.ZipFile(p, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "model.weights.h5":
                buf = io.BytesIO(data)
                with h5py.File(buf, "r+") as f:
                    del f["layers/dense/vars/0"]
                    f["layers/dense/vars/0"] = np.zeros((7, 32), np.float32)
                data = buf.getvalue()
            zout.writestr(item, data)
    return p


BAD = {
    "truncated_keras": (lambda t: _truncated(DATA / "vgg.keras", t / "trunc.keras"), None),
    "truncated_h5": (lambda t: _truncated(DATA / "vgg.h5", t / "trunc.h5"), None),
    "zip_without_config": (_zip_without_config, "config.json"),
    "h5_without_model_config": (_h5_without_config, "model_config"),
    "h5_weight_shape": (_h5_wrong_shape, "'conv2d'"),
    "keras_weight_shape": (_keras_wrong_shape, "'dense'"),
    "lambda_keras": (lambda t: DATA / "lambda_bad.keras", "'times_two'"),
    "lambda_h5": (lambda t: DATA / "lambda_bad.h5", "'times_two'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_a_one_line_error(case, tmp_path, capsys):
    make, expected = BAD[case]
    path = make(tmp_path)
    with pytest.raises(TinyCNNError) as exc:
        import_model(path)
    msg = str(exc.value)
    assert "\n" not in msg and str(path) in msg, msg
    if expected:  # the layer name (quoted) or the missing piece
        assert expected in msg, msg
    if case.startswith("lambda"):
        assert "Lambda" in msg
    if "shape" in case:
        assert "shape" in msg
    calib = tmp_path / "calib.npy"
    np.save(calib, fixture_data("vgg.keras")["x_calib"][:10])
    rc = cli_main(["convert", str(path), "--calib", str(calib), "-o", str(tmp_path / "o.tcnn")])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tinycnn: error:") and str(path) in err and "\n" not in err


def test_channels_first_is_refused(tmp_path):
    import json
    p = tmp_path / "cf.h5"
    p.write_bytes((DATA / "legacy_vgg.h5").read_bytes())
    with h5py.File(p, "r+") as f:
        cfg = json.loads(f.attrs["model_config"])
        cfg["config"]["layers"][1]["config"]["data_format"] = "channels_first"
        f.attrs["model_config"] = json.dumps(cfg)
    with pytest.raises(TinyCNNError, match="channels_first"):
        import_model(p)
