"""Small ONNX graphs built in the tests with onnx.helper (random weights, seeded).

Each builder returns (ModelProto, input_shape). They exercise one importer feature each and
are compared against ONNX Runtime, the independent float oracle."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(1234)


def _w(*shape, scale=0.3):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


class G:
    """Tiny graph-writing helper: g.node('Conv', [x, w], attrs) -> output name."""

    def __init__(self, in_shape):
        self.nodes, self.inits, self.n = [], [], 0
        self.in_shape = in_shape
        self.x = "input"

    def init(self, arr, name=None):
        name = name or f"c{len(self.inits)}"
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def node(self, op, inputs, **attrs):
        self.n += 1
        out = f"{op.lower()}_{self.n}"
        self.nodes.append(helper.make_node(op, inputs, [out], name=f"{op}_{self.n}", **attrs))
        return out

    def model(self, out, opset=13):
        dims = ["batch"] + list(self.in_shape[1:])
        graph = helper.make_graph(
            self.nodes, "test",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, dims)],
            [helper.make_value_info(out, helper.make_tensor_type_proto(TensorProto.FLOAT, None))],
            self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 8

        return m

    def conv(self, x, cin, cout, k=3, group=1, **attrs):
        w = self.init(_w(cout, cin // group, k, k))
        b = self.init(_w(cout, scale=0.1))
        return self.node("Conv", [x, w, b], kernel_shape=[k, k], group=group, **attrs)

    def bn(self, x, c):
        args = [self.init(1 + _w(c, scale=0.1)), self.init(_w(c, scale=0.1)),
                self.init(_w(c, scale=0.1)), self.init(0.5 + np.abs(_w(c, scale=0.2)))]
        return self.node("BatchNormalization", [x] + args, epsilon=1e-5)


def conv_net():
    """Conv/BN/ReLU/MaxPool/Flatten(spatial)/Gemm: flatten channel order matters."""
    g = G((1, 3, 12, 12))
    x = g.conv("input", 3, 8, pads=[1, 1, 1, 1])
    x = g.bn(x, 8)
    x = g.node("Relu", [x])
    x = g.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = g.conv(x, 8, 6, strides=[2, 2], pads=[0, 0, 1, 1])
    x = g.node("Clip", [x, g.init(np.float32(0)), g.init(np.float32(6))])
    x = g.node("Flatten", [x], axis=1)
    x = g.node("Gemm", [x, g.init(_w(5, 6 * 3 * 3)), g.init(_w(5))], transB=1)
    return g.model(x), g.in_shape


def depthwise_residual_net():
    """MobileNetV2-ish: expand, depthwise (stride 1 and 2), project, residual Add, GAP."""
    g = G((1, 4, 10, 10))
    x = g.conv("input", 4, 8, k=1)
    x = g.node("Clip", [x, g.init(np.float32(0)), g.init(np.float32(6))])
    y = g.conv(x, 8, 8, k=3, group=8, pads=[1, 1, 1, 1])
    y = g.bn(y, 8)
    y = g.node("Relu", [y])
    y = g.conv(y, 8, 8, k=1)
    x = g.node("Add", [x, y])
    x = g.conv(x, 8, 16, k=3, group=8, pads=[1, 1, 1, 1], strides=[2, 2])  # depth multiplier 2
    x = g.node("HardSwish", [x])
    s = g.node("GlobalAveragePool", [x])
    s = g.conv(s, 16, 16, k=1)
    s = g.node("HardSigmoid", [s], alpha=1 / 6, beta=0.5)
    x = g.node("Mul", [x, s])
    x = g.node("GlobalAveragePool", [x])
    x = g.node("Flatten", [x], axis=1)
    x = g.node("Gemm", [x, g.init(_w(16, 7)), g.init(_w(7))])
    return g.model(x, opset=14), g.in_shape


def branchy_net():
    """Inception-ish concat, avg pool both count modes, dilation, groups, pads, activations."""
    g = G((1, 2, 9, 9))
    a = g.conv("input", 2, 4, k=1)
    b = g.conv("input", 2, 4, k=3, pads=[1, 1, 1, 1], dilations=[1, 1])
    c = g.node("MaxPool", ["input"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])
    c = g.conv(c, 2, 2, k=1)
    x = g.node("Concat", [a, b, c], axis=1)
    x = g.node("LeakyRelu", [x], alpha=0.1)
    x = g.node("AveragePool", [x], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1],
               count_include_pad=1)
    x = g.node("AveragePool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
               count_include_pad=0)
    x = g.conv(x, 10, 6, k=3, dilations=[2, 2], pads=[2, 2, 2, 2], group=2)
    x = g.node("PRelu", [x, g.init(np.abs(_w(6, 1, 1)))])
    x = g.node("Pad", [x, g.init(np.array([0, 0, 0, 1, 0, 0, 1, 0], np.int64))])
    x = g.node("Sigmoid", [x])
    y = g.node("Tanh", [x])
    x = g.node("Sub", [x, y])
    x = g.node("ReduceMean", [x], axes=[2, 3], keepdims=0)
    x = g.node("MatMul", [x, g.init(_w(6, 4))])
    x = g.node("Add", [x, g.init(_w(4))])
    x = g.node("Softmax", [x], axis=1)
    return g.model(x), g.in_shape


ALL = {"conv_net": conv_net, "depthwise_residual_net": depthwise_residual_net,
       "branchy_net": branchy_net}
