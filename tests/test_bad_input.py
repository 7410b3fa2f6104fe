"""Bad input gets a clear one-line error and a non-zero exit, never a traceback or a partial file
(the issue's "Bad input" list); zero-range tensors are not errors."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import tinycnn
from tests.conftest import ROOT, ort_run
from tinycnn.cli import main

EX = ROOT / "examples"


def _cli(argv, capsys):
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_onnx(tmp_path, capsys, cut):
    raw = (EX / "digits_cnn.onnx").read_bytes()
    bad = tmp_path / "cut.onnx"
    bad.write_bytes(raw[:int(len(raw) * cut)])
    code, err = _cli(["convert", bad, "--calib", EX / "digits_calib.npz", "-o", tmp_path / "o.tcnn"], capsys)
    assert code == 2 and "cut.onnx" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.tcnn").exists()


def test_input_of_wrong_shape_and_dtype(tmp_path, capsys):
    blob = tinycnn.convert(EX / "digits_cnn.onnx", calib=EX / "digits_calib.npz", output=tmp_path / "d.tcnn")
    np.save(tmp_path / "x.npy", np.zeros((4, 3, 5, 5), np.float32))
    code, err = _cli(["run", blob, "--input", tmp_path / "x.npy"], capsys)
    expected_shape = "[N, " + ", ".join(str(d) for d in np.load(EX / "digits_test.npz")["x"].shape[1:]) + "]"
    assert code == 2 and "(4, 3, 5, 5)" in err and expected_shape in err
    np.save(tmp_path / "s.npy", np.array([["a"]]))
    code, err = _cli(["run", blob, "--input", tmp_path / "s.npy"], capsys)
    assert code == 2 and "dtype" in err
    with pytest.raises(tinycnn.TinyCNNError, match="complex"):
        tinycnn.load(blob).run(np.zeros((1,) + np.load(EX / "digits_test.npz")["x"].shape[1:], np.complex64))


def test_calibration_of_wrong_shape(tmp_path, capsys):
    np.savez(tmp_path / "c.npz", x=np.zeros((10, 8, 8), np.float32))
    code, err = _cli(["convert", EX / "digits_cnn.onnx", "--calib", tmp_path / "c.npz", "-o", tmp_path / "o.tcnn"], capsys)
    assert code == 2 and "(10, 8, 8)" in err and not (tmp_path / "o.tcnn").exists()


def test_nan_in_calibration_and_inputs(tmp_path, capsys):
    x = np.load(EX / "digits_calib.npz")["x"].copy()
    x[3, 0, 0, 0] = np.nan
    np.savez(tmp_path / "c.npz", x=x)
    code, err = _cli(["convert", EX / "digits_cnn.onnx", "--calib", tmp_path / "c.npz", "-o", tmp_path / "o.tcnn"], capsys)
    assert code == 2 and "NaN" in err and not (tmp_path / "o.tcnn").exists()
    blob = tinycnn.convert(EX / "digits_cnn.onnx", calib=EX / "digits_calib.npz", output=tmp_path / "d.tcnn")
    x[3, 0, 0, 0] = np.inf
    with pytest.raises(tinycnn.TinyCNNError, match="NaN/Inf"):
        tinycnn.load(blob).run(x)


def _conv_model(w, b, path):
    c_out, c_in = w.shape[:2]
    nodes = [helper.make_node("Conv", ["input", "w", "b"], ["y"], name="conv0", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["y"], ["r"], name="relu0"),
             helper.make_node("GlobalAveragePool", ["r"], ["g"], name="gap"),
             helper.make_node("Flatten", ["g"], ["out"], name="flat")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", c_in, 6, 6])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["n", c_out])],
                              [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


def test_nan_in_weights_names_the_node(tmp_path, capsys):
    w = np.random.default_rng(0).standard_normal((4, 2, 3, 3)).astype(np.float32)
    w[1, 0, 0, 0] = np.nan
    path = _conv_model(w, np.zeros(4, np.float32), tmp_path / "nan.onnx")
    code, err = _cli(["convert", path, "--calib", EX / "digits_calib.npz", "-o", tmp_path / "o.tcnn"], capsys)
    assert code == 2 and "conv0" in err and "NaN" in err and "nan.onnx" in err
    assert not (tmp_path / "o.tcnn").exists()


def test_zero_range_tensors_are_valid(tmp_path):
    """An all-zero weight channel and a constant input give valid non-zero scales and the
    right outputs (compared with ONNX Runtime)."""
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    w[2] = 0.0  # all-zero output channel -> constant activation channel
    path = _conv_model(w, np.array([0.1, -0.2, 0.0, 0.3], np.float32), tmp_path / "z.onnx")
    x = rng.uniform(0, 1, (20, 2, 6, 6)).astype(np.float32)
    m = tinycnn.load(tinycnn.convert(path, calib=x, output=tmp_path / "z.tcnn"))
    wq = [t for t in m.graph.tensors.values() if t.is_const and t.dtype == "int8" and t.quant is not None]
    assert wq and all(np.all(t.quant.scale > 0) for t in wq)
    got, ref = m.run(x), ort_run(path, x)
    assert np.abs(got - ref).max() <= 0.05 * np.abs(ref).max()
    assert np.all(got[:, 2] == 0)
    # a constant (all-zero) calibration input: zero range on the input tensor itself
    zeros = np.zeros((8, 2, 6, 6), np.float32)
    m0 = tinycnn.load(tinycnn.convert(path, calib=zeros, output=tmp_path / "z0.tcnn"))
    assert m0.graph.tensors[m0.graph.inputs[0]].quant.scale[0] > 0
    np.testing.assert_allclose(m0.run(zeros), ort_run(path, zeros), atol=0.02)


def _two_input_model(path):
    rng = np.random.default_rng(5)
    nodes = [helper.make_node("Conv", ["a", "wa"], ["ya"], name="conv_a", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["b", "wb"], ["yb"], name="conv_b", kernel_shape=[1, 1]),
             helper.make_node("Add", ["ya", "yb"], ["s"], name="add"),
             helper.make_node("Relu", ["s"], ["out"], name="relu")]
    inits = [numpy_helper.from_array(rng.standard_normal((4, 2, 3, 3)).astype(np.float32), "wa"),
             numpy_helper.from_array(rng.standard_normal((4, 3, 1, 1)).astype(np.float32), "wb")]
    graph = helper.make_graph(nodes, "two", [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["n", 2, 5, 5]),
                                             helper.make_tensor_value_info("b", TensorProto.FLOAT, ["n", 3, 5, 5])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["n", 4, 5, 5])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


def test_two_input_model_and_input_count_checks(tmp_path):
    import onnxruntime as ort
    path = _two_input_model(tmp_path / "two.onnx")
    rng = np.random.default_rng(0)
    xa, xb = rng.standard_normal((16, 2, 5, 5)).astype(np.float32), rng.standard_normal((16, 3, 5, 5)).astype(np.float32)
    with pytest.raises(tinycnn.TinyCNNError, match="one calibration array per input"):
        tinycnn.convert(path, calib=xa, output=tmp_path / "t.tcnn")
    m = tinycnn.load(tinycnn.convert(path, calib=[xa, xb], output=tmp_path / "t.tcnn"))
    ref = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"a": xa, "b": xb})[0]
    got = m.run(xa, xb)
    assert got.shape == ref.shape and np.abs(got - ref).max() <= 0.03 * np.abs(ref).max()
    with pytest.raises(tinycnn.TinyCNNError, match="2 input"):
        m.run(xa)
    with pytest.raises(tinycnn.TinyCNNError, match="different batch sizes"):
        m.run(xa, xb[:3])
    with pytest.raises(tinycnn.TinyCNNError, match="empty"):
        m.run(xa[:0], xb[:0])
    with pytest.raises(tinycnn.TinyCNNError, match="batch size"):
        m.run(xa, xb, batch_size=0)
