"""A MobileNetV3-Small-class ONNX classifier (Howard et al. 2019) built with onnx.helper:
inverted residuals, squeeze-excite (GAP -> 1x1 -> ReLU -> 1x1 -> HardSigmoid -> Mul) and
h-swish, ~280 k parameters at width 0.5, 96x96x3 input and 10 classes. Random He-scaled weights
from its own seeded generator; only the classifier is trained (``fit_classifier``: ridge regression
of one-hot labels on the penultimate features, computed with ONNX Runtime), so the model has a real
top-1 accuracy on digits for the explorer's accuracy budget. Used by benchmarks/bench_tradeoff.py and tests/test_tradeoff_speed.py.

Inputs: scikit-learn's 8x8 digits upsampled (nearest) to ``res`` x ``res``, repeated to 3
channels, NCHW float32 in [0, 1] (``digits_inputs``)."""
from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

# (kernel, expansion channels, output channels, squeeze-excite, activation, stride): MobileNetV3-Small
SMALL = [(3, 16, 16, True, "relu", 2), (3, 72, 24, False, "relu", 2), (3, 88, 24, False, "relu", 1),
         (5, 96, 40, True, "hswish", 2), (5, 240, 40, True, "hswish", 1), (5, 240, 40, True, "hswish", 1),
         (5, 120, 48, True, "hswish", 1), (5, 144, 48, True, "hswish", 1), (5, 288, 96, True, "hswish", 2),
         (5, 576, 96, True, "hswish", 1), (5, 576, 96, True, "hswish", 1)]


def _ch(c, alpha):
    return max(8, int(c * alpha + 4) // 8 * 8)


class _Builder:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []

    def init(self, arr):
        name = f"c{len(self.inits)}"
        self.inits.append(numpy_helper.from_array(np.asarray(arr, np.float32), name))
        return name

    def node(self, op, inputs, name, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def conv(self, x, cin, cout, k, name, stride=1, group=1, bias=False, gain=2.0):
        w = self.rng.standard_normal((cout, cin // group, k, k)) * np.sqrt(gain / (cin // group * k * k))
        ins = [x, self.init(w)] + ([self.init(self.rng.standard_normal(cout) * 0.05)] if bias else [])
        p = k // 2
        return self.node("Conv", ins, f"{name}/Conv", kernel_shape=[k, k], strides=[stride, stride],
                         group=group, pads=[p, p, p, p])

    def conv_bn_act(self, x, cin, cout, k, name, stride=1, group=1, act="relu"):
        y = self.conv(x, cin, cout, k, name, stride, group)
        gamma = (1 + self.rng.standard_normal(cout) * 0.1) * (1.0 if act else 0.3)
        bn = [self.init(gamma), self.init(self.rng.standard_normal(cout) * 0.1),
              self.init(self.rng.standard_normal(cout) * 0.1), self.init(1 + np.abs(self.rng.standard_normal(cout) * 0.1))]
        y = self.node("BatchNormalization", [y] + bn, f"{name}/BatchNorm", epsilon=1e-3)
        return self.act(y, act, name)

    def act(self, x, act, name):
        if act == "relu":
            return self.node("Relu", [x], f"{name}/Relu")
        if act == "hswish":
            return self.node("HardSwish", [x], f"{name}/HardSwish")
        return x

    def squeeze_excite(self, x, c, name):
        s = self.node("GlobalAveragePool", [x], f"{name}/se/pool")
        s = self.conv(s, c, _ch(c / 4, 1.0), 1, f"{name}/se/fc1", bias=True)
        s = self.node("Relu", [s], f"{name}/se/relu")
        s = self.conv(s, _ch(c / 4, 1.0), c, 1, f"{name}/se/fc2", bias=True, gain=1.0)
        s = self.node("HardSigmoid", [s], f"{name}/se/gate", alpha=1 / 6, beta=0.5)
        return self.node("Mul", [x, s], f"{name}/se/mul")


def mobilenet_v3_small(alpha=0.5, res=96, classes=10, seed=2019, head=64):
    """(ModelProto, input shape NCHW)."""
    b = _Builder(seed)
    c = _ch(16, alpha)
    x = b.conv_bn_act("input", 3, c, 3, "stem", stride=2, act="hswish")
    for i, (k, exp, out, se, act, s) in enumerate(SMALL):
        name, hid, co = f"blocks.{i}", _ch(exp, alpha), _ch(out, alpha)
        y = b.conv_bn_act(x, c, hid, 1, f"{name}/expand", act=act) if hid != c else x
        y = b.conv_bn_act(y, hid, hid, k, f"{name}/dw", stride=s, group=hid, act=act)
        if se:
            y = b.squeeze_excite(y, hid, name)
        y = b.conv_bn_act(y, hid, co, 1, f"{name}/project", act=None)
        x = b.node("Add", [x, y], f"{name}/add") if s == 1 and c == co else y
        c = co
    last = _ch(576, alpha)
    x = b.conv_bn_act(x, c, last, 1, "head/conv", act="hswish")
    x = b.node("GlobalAveragePool", [x], "head/pool")
    x = b.conv(x, last, head, 1, "head/fc1", bias=True)
    x = b.node("HardSwish", [x], "head/fc1/HardSwish")
    x = b.node("Flatten", [x], "head/flatten", axis=1)
    w = b.rng.standard_normal((classes, head)) / np.sqrt(head)
    x = b.node("Gemm", [x, b.init(w), b.init(np.zeros(classes))], "head/classifier", transB=1)
    graph = helper.make_graph(b.nodes, "mobilenet_v3_small",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, res, res])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", classes])], b.inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    m.ir_version = 8
    return m, (1, 3, res, res)


def param_count(model) -> int:
    return int(sum(np.prod(t.dims) for t in model.graph.initializer if len(t.dims) > 1 or t.dims[0] > 1))


def digits_inputs(res=96, n=None, offset=0):
    """(x NCHW float32, y int64): scikit-learn digits upsampled to res x res, 3 channels."""
    from sklearn.datasets import load_digits
    d = load_digits()
    x, y = d.images[offset:offset + n if n else None] / 16.0, d.target[offset:offset + n if n else None]
    rep = -(-res // 8)
    x = np.repeat(np.repeat(x, rep, axis=1), rep, axis=2)[:, :res, :res]
    return np.repeat(x[:, None], 3, axis=1).astype(np.float32), y.astype(np.int64)


def fit_classifier(model, x, y, classes=10, ridge=1e-2):
    """Set the final Gemm to the ridge-regression fit of one-hot ``y`` on the features it sees."""
    import onnxruntime as ort
    gemm = model.graph.node[-1]
    feat = onnx_copy = model.__class__()
    onnx_copy.CopyFrom(model)
    del feat.graph.output[:]
    feat.graph.output.append(helper.make_tensor_value_info(gemm.input[0], TensorProto.FLOAT, None))
    sess = ort.InferenceSession(feat.SerializeToString(), providers=["CPUExecutionProvider"])
    f = sess.run(None, {"input": x})[0].astype(np.float64)
    mu, sd = f.mean(0), f.std(0) + 1e-6
    z = np.concatenate([(f - mu) / sd, np.ones((len(f), 1))], 1)
    t = np.eye(classes)[y] * 4.0 - 2.0
    sol = np.linalg.solve(z.T @ z + ridge * len(z) * np.eye(z.shape[1]), z.T @ t)  # (features + 1, classes)
    w = (sol[:-1] / sd[:, None]).T
    bias = sol[-1] - w @ mu
    inits = {t.name: i for i, t in enumerate(model.graph.initializer)}
    for name, arr in ((gemm.input[1], w), (gemm.input[2], bias)):
        model.graph.initializer[inits[name]].CopyFrom(numpy_helper.from_array(arr.astype(np.float32), name))
    return model
