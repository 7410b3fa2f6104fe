"""Small ONNX graphs built in the tests with onnx.helper (random weights, seeded).

Each builder returns (ModelProto, input_shape). They exercise one importer feature each and
are compared against ONNX Runtime, the independent float oracle."""
from __future__ import annotations

import numpy as np
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


# ---------------- MobileNet-style graphs with random (He-scaled) weights ----------------

def _he(cout, cin_per_group, k):
    return (RNG.standard_normal((cout, cin_per_group, k, k)) * np.sqrt(2.0 / (cin_per_group * k * k))).astype(np.float32)


class _Net(G):
    def conv_bn_act(self, x, cin, cout, k=1, stride=1, group=1, act="relu6"):
        """Conv + BatchNorm (+ ReLU6). A linear (act=None) projection gets BN gammas around 0.3,
        as trained residual branches have, so the residual stream stays well-conditioned."""
        w = self.init(_he(cout, cin // group, k))
        gamma = (1 + _w(cout, scale=0.1)) * (1.0 if act else 0.3)
        pad = k // 2
        x = self.node("Conv", [x, w], kernel_shape=[k, k], strides=[stride, stride], group=group,
                      pads=[pad, pad, pad, pad])
        x = self.node("BatchNormalization", [x, self.init(gamma), self.init(_w(cout, scale=0.1)),
                                             self.init(_w(cout, scale=0.1)), self.init(1 + np.abs(_w(cout, scale=0.1)))],
                      epsilon=1e-5)
        if act == "relu6":
            x = self.node("Clip", [x, self.init(np.float32(0)), self.init(np.float32(6))])
        return x

    def head(self, x, c, classes=10):
        x = self.node("GlobalAveragePool", [x])
        x = self.node("Flatten", [x], axis=1)
        return self.node("Gemm", [x, self.init(_w(classes, c, scale=1 / np.sqrt(c))), self.init(_w(classes))],
                         transB=1)


def _ch(c, alpha):
    return max(8, int(c * alpha + 4) // 8 * 8)


def mobilenet_v1(alpha=0.25, res=96, classes=10):
    """MobileNetV1 (Howard et al. 2017): 3x3 s2 stem, 13 depthwise-separable blocks."""
    g = _Net((1, 3, res, res))
    c = _ch(32, alpha)
    x = g.conv_bn_act("input", 3, c, k=3, stride=2)
    cfg = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    for cout, s in cfg:
        co = _ch(cout, alpha)
        x = g.conv_bn_act(x, c, c, k=3, stride=s, group=c)
        x = g.conv_bn_act(x, c, co, k=1)
        c = co
    return g.model(g.head(x, c, classes)), g.in_shape


def mobilenet_v2(alpha=0.5, res=96, classes=10):
    """MobileNetV2 (Sandler et al. 2018): inverted residuals with linear bottlenecks."""
    g = _Net((1, 3, res, res))
    c = _ch(32, alpha)
    x = g.conv_bn_act("input", 3, c, k=3, stride=2)
    cfg = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    for t, cout, n, s in cfg:
        co = _ch(cout, alpha)
        for i in range(n):
            stride = s if i == 0 else 1
            y = x
            hidden = c * t
            if t != 1:
                y = g.conv_bn_act(y, c, hidden, k=1)
            y = g.conv_bn_act(y, hidden, hidden, k=3, stride=stride, group=hidden)
            y = g.conv_bn_act(y, hidden, co, k=1, act=None)
            x = g.node("Add", [x, y]) if stride == 1 and c == co else y
            c = co
    last = _ch(1280, max(alpha, 1.0))
    x = g.conv_bn_act(x, c, last, k=1)
    return g.model(g.head(x, last, classes)), g.in_shape
