"""Dynamic input dimensions (issue 10 item 1): ONNX symbolic / unknown dims (torch.onnx
dynamic_axes, PaddleOCR's [-1, 3, -1, -1]) and Keras None spatial dims, fixed from the
calibration data or --input-shape / input_shapes=. Oracles: ONNX Runtime, Keras' own outputs
saved with the fixture (tests/data/wild/make_wild_fixtures.py)."""
import numpy as np
import onnx
import pytest

import tinycnn
from tests.conftest import DATA
from tests.wild_onnx_models import dynamic_cnn, ort, unknown_dims_cnn
from tinycnn.cli import main
from tinycnn.convert import import_model
from tinycnn.errors import TinyCNNError
from tinycnn.report import describe, format_info
from tinycnn.runtime import Model

WILD = DATA / "wild"
RNG = np.random.default_rng(7)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("dyn")
    onnx.save(dynamic_cnn(), d / "symbolic.onnx")
    onnx.save(unknown_dims_cnn(), d / "unknown.onnx")
    return d


def _x(h, w, n=48):
    return RNG.standard_normal((n, 3, h, w)).astype(np.float32)


@pytest.mark.parametrize("name", ["symbolic", "unknown"])
def test_float_import_with_given_shape_matches_ort(models, name):
    for h, w in ((12, 20), (9, 16)):
        x = _x(h, w, 8)
        g = import_model(models / f"{name}.onnx", {"x": (1, 3, h, w)})
        np.testing.assert_allclose(Model(g).run(x), ort(models / f"{name}.onnx", x)[0], atol=2e-5)


def test_int8_shape_from_calibration_data(models, tmp_path):
    x = _x(12, 20, 200)
    blob = tinycnn.convert(models / "unknown.onnx", calib=x[:150], output=tmp_path / "u.tcnn")
    model = tinycnn.load(blob)
    fixed = model.graph.meta["fixed_input_shapes"]["x"]
    assert fixed["shape"] == [-1, 3, 12, 20] and fixed["from"] == "calibration data"
    ref = ort(models / "unknown.onnx", x[150:])[0]
    got = model.run(x[150:])
    assert np.mean(got.argmax(1) == ref.argmax(1)) >= 0.9
    assert 10 * np.log10(np.sum(ref ** 2) / np.sum((ref - got) ** 2)) > 25
    text = format_info(describe(model.graph, blob))
    assert "input: x [N, 3, 12, 20] (NCHW)" in text
    assert "dynamic input [?, 3, ?, ?] fixed to [N, 3, 12, 20] from calibration data" in text


def test_cli_input_shape_and_info(models, tmp_path, capsys):
    blob = tmp_path / "s.tcnn"
    assert main(["convert", str(models / "symbolic.onnx"), "--scheme", "float32", "--input-shape",
                 "x=1x3x10x14", "-o", str(blob), "--quiet"]) == 0
    x = _x(10, 14, 6)
    np.testing.assert_allclose(tinycnn.load(blob).run(x), ort(models / "symbolic.onnx", x)[0], atol=2e-5)
    assert main(["info", str(blob)]) == 0
    assert "fixed to [N, 3, 10, 14] from --input-shape" in capsys.readouterr().out


def test_no_shape_is_a_clear_error(models, tmp_path, capsys):
    out = tmp_path / "none.tcnn"
    assert main(["convert", str(models / "unknown.onnx"), "--scheme", "float32", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "input 'x' has dynamic dimensions [?, 3, ?, ?] (NCHW)" in err
    assert "--input-shape x=1x3xHxW" in err and "--calib" in err
    assert not out.exists()


@pytest.mark.parametrize("shapes, match", [
    ({"x": (1, 4, 12, 20)}, r"declared \[\?, 3, \?, \?\].*dimension\(s\) \[1\]"),
    ({"y": (1, 3, 12, 20)}, r"unknown input\(s\) \['y'\]"),
    ({"x": (1, 12, 20)}, "rank 4"),
])
def test_wrong_given_shapes_are_refused(models, shapes, match):
    with pytest.raises(TinyCNNError, match=match):
        import_model(models / "unknown.onnx", shapes)


def test_calibration_data_of_the_wrong_rank(models, tmp_path):
    with pytest.raises(TinyCNNError, match="rank 4"):
        tinycnn.convert(models / "unknown.onnx", calib=np.zeros((4, 12, 20), np.float32),
                        output=tmp_path / "r.tcnn")


def test_keras_none_spatial_dims_match_keras():
    d = np.load(WILD / "dynamic_spatial_data.npz")
    for key, ref in (("x_test", "y_keras"), ("x_test2", "y_keras2")):
        x = d[key]
        g = import_model(WILD / "dynamic_spatial.h5", {"image": (1,) + x.shape[1:]})
        np.testing.assert_allclose(Model(g).run(x), d[ref], atol=1e-5)


def test_keras_int8_from_calibration_shape(tmp_path, capsys):
    blob = tmp_path / "k.tcnn"
    assert main(["convert", str(WILD / "dynamic_spatial.h5"), "--calib", str(WILD / "dynamic_spatial_data.npz"),
                 "-o", str(blob), "--quiet"]) == 0
    d = np.load(WILD / "dynamic_spatial_data.npz")
    got = tinycnn.load(blob).run(d["x_test"])
    assert np.mean(got.argmax(1) == d["y_keras"].argmax(1)) >= 0.9
    assert "note: input 'image' has dynamic dimensions [?, ?, ?, 1]: fixed to [N, 12, 20, 1]" in capsys.readouterr().err
    assert main(["info", str(blob)]) == 0
    assert "dynamic input [?, ?, ?, 1] fixed to [N, 12, 20, 1] from calibration data" in capsys.readouterr().out


def test_torch_dynamic_axes_export_matches_torch_and_ort(tmp_path):
    """A real torch.onnx export with dynamic_axes N, H, W (tests/data/wild/make_torch_dynamic.py):
    float import at two fixed shapes equals torch's own outputs; int8 from the calibration shape."""
    path = WILD / "torch_dynamic.onnx"
    d = np.load(WILD / "torch_dynamic_data.npz")
    for key, ref in (("x_test", "y_torch"), ("x_test2", "y_torch2")):
        x = d[key]
        g = import_model(path, {"x": (1,) + x.shape[1:]})
        np.testing.assert_allclose(Model(g).run(x), d[ref], atol=1e-4)
        np.testing.assert_allclose(ort(path, x)[0], d[ref], atol=1e-4)  # the oracle agrees with torch
    blob = tinycnn.convert(path, calib=d["x_calib"], output=tmp_path / "t.tcnn")
    got, ref = tinycnn.load(blob).run(d["x_test"]), d["y_torch"]
    assert 10 * np.log10(np.sum(ref ** 2) / np.sum((ref - got) ** 2)) > 25
    with pytest.raises(TinyCNNError, match=r"the model expects \[N, 3, 16, 48\]"):
        tinycnn.load(blob).run(d["x_test2"])  # the shape was fixed at convert time
