"""Generate the int8 .tflite benchmark models (MLPerf Tiny architectures + two 224x224 MobileNets).

Needs TensorFlow (a side venv, never the project's):

    /work/venvs/tf/bin/python benchmarks/models/make_bench_models.py [--out DIR] [--only NAME ...]

Models (untrained Keras weights with randomised BatchNorm statistics, seed 0; full-integer int8
quantization with int8 input/output, calibrated on 16 random inputs). Speed and bit-exactness do
not depend on training, so random weights are fine here; accuracy is not measured.

    resnet8        MLPerf Tiny image classification: ResNet-8, 32x32x3, 10 classes
    ds_cnn         MLPerf Tiny keyword spotting: DS-CNN (S), 49x10x1, 12 classes
    mbv1_025_96    MLPerf Tiny visual wake words: MobileNetV1 alpha 0.25, 96x96x3, 2 classes
    fc_ae          MLPerf Tiny anomaly detection: FC autoencoder, 640 -> 128x4 -> 8 -> 128x4 -> 640
    mbv2_224       MobileNetV2 alpha 1.0, 224x224x3, 1000 logits    (> 2 MB: not committed)
    mbv1_224       MobileNetV1 alpha 1.0, 224x224x3, 1000 logits    (> 2 MB: not committed)

The four small models are committed next to this script; `make bench` writes the two 224x224
ones into .bench-cache/ (see the Makefile). Versions used: tensorflow-cpu 2.21.0, tf_keras 2.21.0.
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"

import argparse  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

L = keras.layers
HERE = Path(__file__).resolve().parent


def bn_relu(x, relu=True):
    x = L.BatchNormalization()(x)
    return L.ReLU()(x) if relu else x


def resnet8():
    inp = keras.Input((32, 32, 3))
    x = bn_relu(L.Conv2D(16, 3, padding="same")(inp))
    for filters, stride in ((16, 1), (32, 2), (64, 2)):
        y = bn_relu(L.Conv2D(filters, 3, strides=stride, padding="same")(x))
        y = bn_relu(L.Conv2D(filters, 3, padding="same")(y), relu=False)
        if stride != 1:
            x = L.Conv2D(filters, 1, strides=stride)(x)
        x = L.ReLU()(L.Add()([x, y]))
    x = L.Flatten()(L.AveragePooling2D(8)(x))
    return keras.Model(inp, L.Dense(10, activation="softmax")(x))


def ds_cnn():
    inp = keras.Input((49, 10, 1))
    x = bn_relu(L.Conv2D(64, (10, 4), strides=2, padding="same")(inp))
    for _ in range(4):
        x = bn_relu(L.DepthwiseConv2D(3, padding="same")(x))
        x = bn_relu(L.Conv2D(64, 1)(x))
    x = L.Flatten()(L.AveragePooling2D((25, 5))(x))
    return keras.Model(inp, L.Dense(12, activation="softmax")(x))


def fc_ae():
    inp = keras.Input((640,))
    x = inp
    for units in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        x = bn_relu(L.Dense(units)(x))
    return keras.Model(inp, L.Dense(640)(x))


def mobilenet(app, res, alpha, classes, softmax=True):
    """keras.applications backbone + average pool + dense head (the applications' own head
    reshapes with a dynamic batch, i.e. a SHAPE op, which MCU converters avoid too). The 224
    models output logits: an untrained net's softmax over 1000 classes quantizes to all -128,
    which would make the bit-exactness check of the benchmark vacuous."""
    inp = keras.Input((res, res, 3), batch_size=1)
    x = app(input_tensor=inp, alpha=alpha, include_top=False, weights=None, pooling="avg").output
    return keras.Model(inp, L.Dense(classes, activation="softmax" if softmax else None)(x))


MODELS = {
    "resnet8": resnet8,
    "ds_cnn": ds_cnn,
    "mbv1_025_96": lambda: mobilenet(keras.applications.MobileNet, 96, 0.25, 2),
    "fc_ae": fc_ae,
    "mbv2_224": lambda: mobilenet(keras.applications.MobileNetV2, 224, 1.0, 1000, softmax=False),
    "mbv1_224": lambda: mobilenet(keras.applications.MobileNet, 224, 1.0, 1000, softmax=False),
}
SMALL = ("resnet8", "ds_cnn", "mbv1_025_96", "fc_ae")


def randomise_bn(model, rng):
    """Non-trivial BatchNorm statistics so folded weights and activations look like a trained net's."""
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            g, b, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, g.shape).astype(np.float32),
                               rng.normal(0, 0.1, b.shape).astype(np.float32),
                               rng.normal(0, 0.1, mean.shape).astype(np.float32),
                               rng.uniform(0.5, 2.0, var.shape).astype(np.float32)])


def build(name, out_dir):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    model = MODELS[name]()
    randomise_bn(model, rng)
    shape = (16,) + tuple(model.input_shape[1:])
    rep = rng.uniform(-1, 1, shape).astype(np.float32)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([rep[k:k + 1]] for k in range(len(rep)))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    blob = conv.convert()
    path = Path(out_dir) / f"{name}.tflite"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(blob)
    tmp.replace(path)
    print(f"{path}: {len(blob) / 1e3:.0f} kB")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(HERE), help="output directory (default: next to this script)")
    ap.add_argument("--only", nargs="*", choices=sorted(MODELS), help="models to build (default: the small four)")
    args = ap.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for name in args.only or SMALL:
        build(name, args.out)


if __name__ == "__main__":
    main()
