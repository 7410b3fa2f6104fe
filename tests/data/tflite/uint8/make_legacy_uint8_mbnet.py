"""Generate legacy_uint8_mbnet.tflite: a MobileNet-shaped legacy uint8 model (the Coral / TF1
post-training-quantized kind: asymmetric uint8 weights with non-zero zero points, uint8
activations) with the ops the 2-layer legacy_uint8 fixture lacks: DEPTHWISE_CONV_2D (3x3,
stride 1 and 2), 1x1 CONV_2D, ReLU6, a residual ADD, MAX_POOL_2D and an even-window
AVERAGE_POOL_2D (2x2, where TFLite's uint8 half-up rounding matters), then RESHAPE,
FULLY_CONNECTED and SOFTMAX.

Run in the TensorFlow side venv (see ../make_tflite_fixtures.py):

    /work/venvs/tf/bin/python tests/data/tflite/uint8/make_legacy_uint8_mbnet.py

A TF1 fake-quant graph converted with ``inference_type=tf.uint8`` (TF 2.21's compat.v1
converter still emits legacy uint8 this way). Weights are seeded random (He init): the fixture
is for bit-exactness, not accuracy. Activation ranges come from a float run of the same graph
on sklearn digits (16x16x1, as the other fixtures). Writes legacy_uint8_mbnet.tflite and
legacy_uint8_mbnet_data.npz (x_test float32 [100, 16, 16, 1] in [0, 1], y_test labels).
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

OUT = os.path.dirname(os.path.abspath(__file__))
NAME = "legacy_uint8_mbnet"


def digits16():
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)
    x = np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)[..., None]
    return x, d.target.astype(np.int64)


def weights(rng):
    he = lambda *s: (rng.standard_normal(s) * np.sqrt(2.0 / np.prod(s[:-1]))).astype(np.float32)  # noqa: E731
    return {"c1": he(3, 3, 1, 8), "b1": rng.uniform(-0.1, 0.2, 8).astype(np.float32),
            "d1": he(3, 3, 8, 1), "bd1": rng.uniform(-0.1, 0.2, 8).astype(np.float32),
            "p1": he(1, 1, 8, 8), "bp1": rng.uniform(-0.1, 0.1, 8).astype(np.float32),
            "d2": he(3, 3, 8, 1), "bd2": rng.uniform(-0.1, 0.2, 8).astype(np.float32),
            "p2": he(1, 1, 8, 16), "bp2": rng.uniform(-0.1, 0.1, 16).astype(np.float32),
            "fc": he(2 * 2 * 16, 10), "bfc": rng.uniform(-0.1, 0.1, 10).astype(np.float32)}


def net(x, w, act):
    """act(name, tensor) -> tensor: identity (range collection) or a fake-quant node."""
    wq = lambda k: act("w_" + k, tf.constant(w[k]))  # noqa: E731
    h = act("a_c1", tf.nn.relu6(tf.nn.conv2d(x, wq("c1"), 2, "SAME") + w["b1"]))            # 8x8x8
    d = act("a_d1", tf.nn.relu6(tf.nn.depthwise_conv2d(h, wq("d1"), [1, 1, 1, 1], "SAME") + w["bd1"]))
    p = act("a_p1", tf.nn.conv2d(d, wq("p1"), 1, "SAME") + w["bp1"])
    h = act("a_add", tf.nn.relu6(h + p))                                                     # residual ADD
    h = act("a_d2", tf.nn.relu6(tf.nn.depthwise_conv2d(h, wq("d2"), [1, 2, 2, 1], "SAME") + w["bd2"]))  # 4x4
    h = act("a_p2", tf.nn.relu6(tf.nn.conv2d(h, wq("p2"), 1, "SAME") + w["bp2"]))
    h = tf.nn.max_pool2d(h, 1, 1, "VALID")  # keeps the range; a MAX_POOL_2D in the graph
    h = tf.nn.avg_pool2d(h, 2, 2, "VALID")                                                   # 2x2x16, even window
    h = act("a_pool", h)
    h = act("a_fc", tf.matmul(tf.reshape(h, [-1, 2 * 2 * 16]), wq("fc")) + w["bfc"])
    return tf.nn.softmax(h)


def main():
    rng = np.random.default_rng(0)
    w = weights(rng)
    x_all, y_all = digits16()
    ranges = {}

    def collect(name, t):
        ranges[name] = t
        return t

    g = tf.Graph()
    with g.as_default():
        xp = tf.compat.v1.placeholder(tf.float32, [None, 16, 16, 1])
        net(xp, w, collect)
        with tf.compat.v1.Session(graph=g) as sess:
            vals = sess.run(ranges, {xp: x_all[:500]})
    lim = {k: (float(min(v.min(), 0.0)), float(max(v.max(), 1e-3))) for k, v in vals.items()}

    def fq(name, t):
        lo, hi = lim[name]
        return tf.quantization.fake_quant_with_min_max_args(t, min=lo, max=hi, num_bits=8)

    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, 16, 16, 1], name="input")
        h = tf.quantization.fake_quant_with_min_max_args(x, min=0.0, max=1.0)
        out = tf.quantization.fake_quant_with_min_max_args(net(h, w, fq), min=0.0, max=255.0 / 256.0,
                                                           name="output")
        with tf.compat.v1.Session(graph=g) as sess:
            conv = tf.compat.v1.lite.TFLiteConverter.from_session(sess, [x], [out])
            conv.inference_type = tf.uint8
            conv.inference_input_type = tf.uint8
            conv.quantized_input_stats = {"input": (0.0, 255.0)}  # real = (q - mean) / std
            blob = conv.convert()
    with open(os.path.join(OUT, f"{NAME}.tflite"), "wb") as f:
        f.write(blob)
    np.savez_compressed(os.path.join(OUT, f"{NAME}_data.npz"), x_test=x_all[-100:], y_test=y_all[-100:])
    interp = tf.lite.Interpreter(model_content=blob)
    ops = sorted({d["op_name"] for d in interp._get_ops_details()})
    print(f"{NAME}: {len(blob)} bytes; ops: {' '.join(ops)}")


if __name__ == "__main__":
    main()
