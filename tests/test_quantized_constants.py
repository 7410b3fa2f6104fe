"""Quantized constants where an importer expects float ones: converted (dequantized at import)
or refused, never used as raw integers (issue 17 item 2). The TFLite cases are in
tests/test_tflite_wild.py; here ONNX (oracle: ONNX Runtime) and Keras."""
from __future__ import annotations

import shutil

import h5py
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.conftest import ort_run
from tinycnn.convert import import_model, to_nhwc
from tinycnn.errors import UnsupportedModelError
from tinycnn.reference.float_ops import run_float
from tests.conftest import DATA


def _onnx_conv(tmp_path, dequantize=True, on_activation=False):
    rng = np.random.default_rng(1)
    wq = rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8)
    scale = np.array([0.002, 0.01, 0.005, 0.02], np.float32)
    inits = [numpy_helper.from_array(wq, "wq"), numpy_helper.from_array(scale, "ws"),
             numpy_helper.from_array(np.zeros(4, np.int8), "wz"),
             numpy_helper.from_array(np.array([0.1, -0.2, 0.0, 0.3], np.float32), "b")]
    nodes = []
    x_name, w_name = "input", "wq"
    if dequantize:
        nodes.append(helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["w"], axis=0))
        w_name = "w"
    if on_activation:
        inits += [numpy_helper.from_array(np.float32(0.05), "xs"),
                  numpy_helper.from_array(np.int8(0), "xz")]
        nodes += [helper.make_node("QuantizeLinear", ["input", "xs", "xz"], ["xq"]),
                  helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"])]
        x_name = "xd"
    nodes.append(helper.make_node("Conv", [x_name, w_name, "b"], ["out"], pads=[1, 1, 1, 1]))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 6, 6])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 4, 6, 6])], inits)
    path = tmp_path / "q.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path, wq, scale


def test_onnx_dequantize_linear_on_int8_initializer_is_folded(tmp_path):
    path, wq, scale = _onnx_conv(tmp_path)
    g = import_model(path)
    conv = [n for n in g.nodes if n.op.value == "CONV_2D"][0]
    w = g.tensors[conv.inputs[1]]
    assert w.dtype == "float32" and np.abs(w.data).max() < 3  # not raw int8
    x = np.random.default_rng(2).standard_normal((1, 3, 6, 6)).astype(np.float32)
    ours = run_float(g, [to_nhwc(g, x)])[0].transpose(0, 3, 1, 2)
    np.testing.assert_allclose(ours, ort_run(path, x), atol=1e-5, rtol=1e-5)


def test_onnx_integer_weight_without_dequantize_is_refused(tmp_path):
    path, _, _ = _onnx_conv(tmp_path, dequantize=False)
    with pytest.raises(UnsupportedModelError, match="int8 where float weights are expected"):
        import_model(path)


def test_onnx_qdq_activation_is_refused(tmp_path):
    path, _, _ = _onnx_conv(tmp_path, on_activation=True)
    with pytest.raises(UnsupportedModelError, match="QuantizeLinear|DequantizeLinear"):
        import_model(path)


def test_keras_integer_kernel_is_refused(tmp_path):
    p = tmp_path / "conv1d_int8.h5"
    shutil.copy(DATA / "keras" / "conv1d.h5", p)
    with h5py.File(p, "r+") as f:
        key = "model_weights/c2/conv1d/c2/kernel"
        k = f[key][()]
        del f[key]
        f[key] = np.clip(np.round(k * 100), -127, 127).astype(np.int8)
    with pytest.raises(UnsupportedModelError, match="weight 'kernel' is int8"):
        import_model(p)
    import_model(DATA / "keras" / "conv1d.h5")  # the float original imports
