"""ONNX path end to end: the float IR equals ONNX Runtime; int8 blobs are accurate against
ONNX Runtime float; unsupported input gets a clear error."""
import numpy as np
import onnx
import pytest

import tinycnn
from tests.conftest import DATA, ort_run
from tinycnn.convert import import_model, to_nhwc
from tinycnn.errors import UnsupportedModelError
from tinycnn.reference.float_ops import run_float
from tinycnn.report import sqnr_db

FIXTURES = sorted(p.stem for p in (DATA / "onnx").glob("*.onnx"))


def float_ir(path, x):
    g = import_model(path)
    y = run_float(g, [to_nhwc(g, x)])[0]
    return y.transpose(0, 3, 1, 2) if y.ndim == 4 else y


@pytest.mark.parametrize("name", ["conv_net", "depthwise_residual_net", "branchy_net"])
def test_builder_models_float_ir_matches_onnxruntime(onnx_dir, name):
    path, shape = onnx_dir[name]
    x = np.random.default_rng(0).standard_normal((4,) + shape[1:]).astype(np.float32)
    ref = ort_run(path, x)
    np.testing.assert_allclose(float_ir(path, x), ref, rtol=1e-4, atol=1e-5 * np.abs(ref).max())


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_float_ir_matches_onnxruntime(name):
    path = DATA / "onnx" / f"{name}.onnx"
    x = np.load(DATA / "onnx" / f"{name}_data.npz")["x_test"][:50]
    ref = ort_run(path, x)
    got = float_ir(path, x)
    assert np.abs(got - ref).max() <= 1e-4 * np.abs(ref).max()


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_int8_accuracy(name, tmp_path):
    d = np.load(DATA / "onnx" / f"{name}_data.npz")
    path = DATA / "onnx" / f"{name}.onnx"
    blob = tinycnn.convert(path, calib=d["x_calib"], output=tmp_path / "m.tcnn")
    x, y = d["x_test"], d["y_test"]
    ref = ort_run(path, x)
    got = tinycnn.load(blob).run(x)
    assert got.shape == ref.shape
    agreement = np.mean(got.argmax(1) == ref.argmax(1))
    assert agreement >= 0.98, agreement
    acc_float, acc_int8 = np.mean(ref.argmax(1) == y), np.mean(got.argmax(1) == y)
    assert acc_int8 >= acc_float - 0.01
    assert sqnr_db(ref, got) > 15


def test_example_model_meets_accuracy_budget(tmp_path):
    """The bundled example: int8 top-1 within 1 point of float, agreement >= 98%."""
    ex = DATA.parent.parent / "examples"
    blob = tinycnn.convert(ex / "digits_cnn.onnx", calib=ex / "digits_calib.npz", output=tmp_path / "d.tcnn")
    m = tinycnn.evaluate(blob, ex / "digits_cnn.onnx", ex / "digits_test.npz")
    assert m["n"] == 360
    assert m["accuracy_test"] >= m["accuracy_reference"] - 0.01
    assert m["top1_agreement"] >= 0.98


@pytest.mark.parametrize("arch,alpha,res", [("mobilenet_v1", 0.25, 96), ("mobilenet_v1", 0.5, 128),
                                            ("mobilenet_v2", 0.25, 96), ("mobilenet_v2", 0.5, 128)])
def test_mobilenet_random_weights_sqnr(arch, alpha, res, tmp_path):
    """MobileNet graphs with random weights: int8 SQNR >= 20 dB vs ONNX Runtime after
    calibrating on 32 inputs; the whole int8 graph also equals the NumPy integer reference."""
    from tests import onnx_builders
    from tinycnn.reference.int_ops import run_int
    model, shape = getattr(onnx_builders, arch)(alpha, res)
    path = tmp_path / f"{arch}.onnx"
    onnx.save(model, path)
    rng = np.random.default_rng(1)
    xc = rng.uniform(-1, 1, (32,) + shape[1:]).astype(np.float32)
    x = rng.uniform(-1, 1, (8,) + shape[1:]).astype(np.float32)
    m = tinycnn.load(tinycnn.convert(path, calib=xc, output=tmp_path / "m.tcnn"))
    got = m.run(x)
    assert sqnr_db(ort_run(path, x), got) >= 20
    xq = m.quantize_input(to_nhwc(m.graph, x[:2]))
    np.testing.assert_array_equal(m.run_quantized([xq])[0], run_int(m.graph, [xq])[0])


def test_per_channel_beats_per_tensor_on_depthwise(tmp_path):
    """Depthwise layers have very different per-channel ranges after BN folding: per-tensor
    weight scales lose much more signal (why per-channel is the default)."""
    path = DATA / "onnx" / "mobilenet_v1.onnx"
    d = np.load(DATA / "onnx" / "mobilenet_v1_data.npz")
    ref = ort_run(path, d["x_test"][:100])
    results = {}
    for per_channel in (True, False):
        blob = tinycnn.convert(path, calib=d["x_calib"], output=tmp_path / f"{per_channel}.tcnn",
                               per_channel=per_channel)
        results[per_channel] = sqnr_db(ref, tinycnn.load(blob).run(d["x_test"][:100]))
    assert results[True] > results[False] + 1.0, results


@pytest.mark.parametrize("method", ["minmax", "percentile", "mse", "entropy"])
def test_calibration_methods_all_work(method, tmp_path):
    ex = DATA.parent.parent / "examples"
    blob = tinycnn.convert(ex / "digits_cnn.onnx", calib=ex / "digits_calib.npz",
                           output=tmp_path / "d.tcnn", calibration=method)
    m = tinycnn.evaluate(blob, ex / "digits_cnn.onnx", ex / "digits_test.npz")
    assert m["top1_agreement"] >= 0.97


def test_unsupported_op_error_names_file_node_and_op(tmp_path):
    from onnx import TensorProto, helper
    node = helper.make_node("LpNormalization", ["input"], ["y"], name="my_norm")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])])
    path = tmp_path / "bad.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    with pytest.raises(UnsupportedModelError) as e:
        tinycnn.convert(path, calib=np.zeros((1, 3, 4, 4), np.float32), output=tmp_path / "bad.tcnn")
    msg = str(e.value)
    assert "bad.onnx" in msg and "my_norm" in msg and "LpNormalization" in msg and "Conv" in msg
    assert not (tmp_path / "bad.tcnn").exists()


def test_not_an_onnx_file(tmp_path):
    path = tmp_path / "garbage.onnx"
    path.write_bytes(b"\x00\x01not a protobuf" * 10)
    with pytest.raises(tinycnn.TinyCNNError, match="garbage.onnx"):
        tinycnn.convert(path, calib=np.zeros((1, 1), np.float32))


@pytest.mark.parametrize("ctm, nearest", [("asymmetric", "floor"), ("half_pixel", "round_prefer_floor"),
                                          ("align_corners", "round_prefer_floor"), ("asymmetric", "round_prefer_ceil"),
                                          ("tf_half_pixel_for_nn", "floor")])
@pytest.mark.parametrize("scale", [2, 3])
def test_resize_modes_accepted_exactly_when_they_repeat_pixels(tmp_path, ctm, nearest, scale):
    """Resize(nearest) becomes RESIZE_NEAREST (pixel repetition) only when the ONNX coordinate
    mapping really is i // scale; otherwise it is refused by name. ONNX Runtime is the oracle."""
    from onnx import TensorProto, helper, numpy_helper
    node = helper.make_node("Resize", ["input", "", "scales"], ["out"], name="rs", mode="nearest",
                            coordinate_transformation_mode=ctm, nearest_mode=nearest)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", 2, 4, 5])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(np.array([1, 1, scale, scale], np.float32), "scales")])
    path = tmp_path / "rs.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 5)).astype(np.float32)
    ref = ort_run(path, x)
    repeats = np.array_equal(ref, np.repeat(np.repeat(x, scale, 2), scale, 3))
    if repeats:
        np.testing.assert_array_equal(float_ir(path, x), ref)
    else:
        with pytest.raises(UnsupportedModelError, match="coordinate_transformation_mode"):
            import_model(path)


def test_reshape_that_folds_the_batch_is_refused(tmp_path):
    from onnx import TensorProto, helper, numpy_helper
    node = helper.make_node("Reshape", ["input", "shape"], ["out"], name="fold")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", 32])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(np.array([-1, 16], np.int64), "shape")])
    path = tmp_path / "fold.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    with pytest.raises(UnsupportedModelError, match="batch"):
        import_model(path)
