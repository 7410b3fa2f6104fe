"""ONNX models as they come from the wild, built with onnx.helper (seeded random weights):
dynamic input dimensions (torch.onnx ``dynamic_axes`` / PaddleOCR ``[-1, 3, -1, -1]``) and
several outputs (a classifier head plus a feature map). ONNX Runtime is their oracle."""
from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(2026)


def _w(*shape, scale=0.4):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def _model(nodes, inits, inputs, outputs):
    graph = helper.make_graph(nodes, "wild", inputs, outputs,
                              [numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def dynamic_cnn(dims=("batch", 3, "height", "width")):
    """Conv-ReLU-Conv(stride 2)-GAP, then the torch ``x.view(x.size(0), -1)`` pattern
    (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) and a Gemm: shapes must propagate."""
    inits = {"w1": _w(8, 3, 3, 3), "b1": _w(8), "w2": _w(16, 8, 3, 3), "b2": _w(16),
             "fc_w": _w(5, 16), "fc_b": _w(5), "zero": np.array(0, np.int64),
             "minus1": np.array([-1], np.int64), "axes0": np.array([0], np.int64)}
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], name="conv2", pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["gap"], name="gap"),
        helper.make_node("Shape", ["gap"], ["shape"], name="shape"),
        helper.make_node("Gather", ["shape", "zero"], ["n"], name="gather", axis=0),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"], name="unsqueeze"),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], name="concat", axis=0),
        helper.make_node("Reshape", ["gap", "target"], ["flat"], name="view"),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], name="fc", transB=1),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(dims))
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [dims[0], 5])
    return _model(nodes, inits, [x], [y])


def unknown_dims_cnn():
    """The PaddleOCR form: input dims with no value at all (Netron shows -1 x 3 x -1 x -1)."""
    model = dynamic_cnn()
    for d in model.graph.input[0].type.tensor_type.shape.dim:
        if d.HasField("dim_param"):
            d.Clear()
    return model


def multi_output_cnn():
    """Three outputs: class logits, a sigmoid 'mask' feature map (NCHW) and an embedding."""
    inits = {"w1": _w(6, 1, 3, 3), "b1": _w(6), "wm": _w(1, 6, 1, 1), "bm": _w(1),
             "fc_w": _w(4, 6), "fc_b": _w(4), "emb_w": _w(3, 6), "emb_b": _w(3)}
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "wm", "bm"], ["m"], name="mask_conv"),
        helper.make_node("Sigmoid", ["m"], ["mask"], name="mask"),
        helper.make_node("GlobalAveragePool", ["r1"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], name="fc", transB=1),
        helper.make_node("Gemm", ["flat", "emb_w", "emb_b"], ["embedding"], name="emb", transB=1),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8, 8])
    outs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 4]),
            helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["N", 1, 8, 8]),
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 3])]
    return _model(nodes, inits, [x], outs)


def ort(path, x):
    import onnxruntime
    sess = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: np.asarray(x, np.float32)})
