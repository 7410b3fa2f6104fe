"""MLPerf-Tiny-architecture graphs (random He-scaled weights) and single-layer graphs per layer
kind, as ONNX (tests/onnx_builders helpers), for benchmarks/bench_instructions.py.
- ResNet-8 (image classification, 32x32x3): 3x3 conv 16, three residual stacks 16/32/64, GAP, FC 10
- DS-CNN (keyword spotting, 49x10x1): 10x4 s2 conv 64, four depthwise-separable blocks 64, GAP, FC 12
- MobileNetV1-0.25 96x96 (visual wake words): tests/onnx_builders.mobilenet_v1, 2 classes
- FC autoencoder (anomaly detection, 640 inputs): FC 128 x4, 8, 128 x4, 640"""
from __future__ import annotations

import numpy as np

from tests.onnx_builders import _he, _Net, _w, mobilenet_v1


def _conv(g, x, cin, cout, k, stride=1, group=1, act="relu6", pads=None):
    w = g.init(_he(cout, cin // group, k if isinstance(k, int) else k[0])) if isinstance(k, int) else \
        g.init((np.random.default_rng(5).standard_normal((cout, cin // group) + k) * 0.1).astype(np.float32))
    ks = [k, k] if isinstance(k, int) else list(k)
    x = g.node("Conv", [x, w, g.init(_w(cout, scale=0.1))], kernel_shape=ks, strides=[stride, stride], group=group,
               pads=pads or [ks[0] // 2, ks[1] // 2, ks[0] // 2, ks[1] // 2])
    return g.node("Relu", [x]) if act else x


def resnet8():
    g = _Net((1, 3, 32, 32))
    x = _conv(g, "input", 3, 16, 3)
    c = 16
    for cout, s in ((16, 1), (32, 2), (64, 2)):
        y = _conv(g, x, c, cout, 3, stride=s)
        y = _conv(g, y, cout, cout, 3, act=None)
        sc = x if (s == 1 and c == cout) else _conv(g, x, c, cout, 1, stride=s, act=None, pads=[0, 0, 0, 0])
        x = g.node("Relu", [g.node("Add", [y, sc])])
        c = cout
    return g.model(g.head(x, c, 10)), g.in_shape


def ds_cnn():
    g = _Net((1, 1, 49, 10))
    x = _conv(g, "input", 1, 64, (10, 4), stride=2, pads=[4, 1, 5, 2])
    for _ in range(4):
        x = _conv(g, x, 64, 64, 3, group=64)
        x = _conv(g, x, 64, 64, 1, pads=[0, 0, 0, 0])
    return g.model(g.head(x, 64, 12)), g.in_shape


def fc_autoencoder():
    g = _Net((1, 640))
    x, c = "input", 640
    for cout in (128, 128, 128, 128, 8, 128, 128, 128, 128, 640):
        x = g.node("Gemm", [x, g.init(_w(cout, c, scale=1 / np.sqrt(c))), g.init(_w(cout, scale=0.1))], transB=1)
        if cout != 640:
            x = g.node("Relu", [x])
        c = cout
    return g.model(x), g.in_shape


def _single(kind):
    def build():
        if kind == "fc":
            g = _Net((1, 256))
            return g.model(g.node("Gemm", [ "input", g.init(_w(128, 256, scale=0.06)), g.init(_w(128))], transB=1)), \
                g.in_shape
        g = _Net((1, 64 if kind != "3x3" else 32, 12, 12))
        if kind == "1x1":
            out = _conv(g, "input", 64, 64, 1, pads=[0, 0, 0, 0])
        elif kind == "3x3":
            out = _conv(g, "input", 32, 32, 3)
        else:
            out = _conv(g, "input", 64, 64, 3, group=64)
        return g.model(out), g.in_shape
    return build


LAYER_KINDS = {"1x1 conv": (_single("1x1"), "CONV_2D"), "3x3 conv": (_single("3x3"), "CONV_2D"),
               "depthwise 3x3": (_single("dw"), "DEPTHWISE_CONV_2D"), "fc": (_single("fc"), "FULLY_CONNECTED")}
MODELS = {"ResNet-8 (32x32x3)": resnet8, "DS-CNN (49x10x1)": ds_cnn,
          "MobileNetV1-0.25 (96x96x3)": lambda: mobilenet_v1(0.25, 96, 2), "FC autoencoder (640)": fc_autoencoder}
