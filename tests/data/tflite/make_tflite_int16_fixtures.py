"""Generate the int16x8 .tflite fixtures (16-bit activations, 8-bit weights, int64 biases):
models converted by the TF converter with
``target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]``.

Same side venv and environment as make_tflite_fixtures.py (whose data and helpers it reuses):

    /work/venvs/tf/bin/python tests/data/tflite/make_tflite_int16_fixtures.py [--only NAME ...]

Writes NAME.tflite + NAME_data.npz (x_test float32 100 samples, y_test int64) for:
- int16x8_ops: digits 16x16x1; CONV_2D (stride 2, fused ReLU), DEPTHWISE_CONV_2D, a 1x1 conv and a
  residual ADD, MAX_POOL_2D, AVERAGE_POOL_2D, FLATTEN (RESHAPE), FULLY_CONNECTED; int16 io;
- int16x8_mobilenet: digits; a MobileNet-v2-style stem + inverted residual blocks (ADD), global
  average pool (MEAN), dense logits; float io (QUANTIZE float->int16 in, DEQUANTIZE out);
- int16x8_kws: a KWS-style DS-CNN on the synthetic (49, 10, 1) spectrograms (10x4 stride-2 conv,
  3 depthwise-separable blocks, full-size AVERAGE_POOL_2D, dense logits); int16 io;
- int16x8_conv1d: a 1-D conv net on (49, 10) sequences (Conv1D -> CONV_2D on 1xW with reshapes,
  CONCATENATION of two branches, PAD via ZeroPadding1D, dense); int16 io;
- int16x8_leaky: digits; CONV_2D / DEPTHWISE_CONV_2D each followed by a LEAKY_RELU (alphas 0.1,
  0.3, 0.2), dense logits; int16 io;
- int16x8_sigmoid_tanh: digits; convs with fused-then-standalone TANH and LOGISTIC, a sigmoid gate
  ADDed back, MAX_POOL_2D, dense logits; int16 io;
- int16x8_transpose_conv: digits; two stride-2 convs, then TRANSPOSE_CONV (3x3 SAME, fused ReLU)
  and TRANSPOSE_CONV (4x4 VALID), average pool, dense logits; int16 io;
- int16x8_act: digits; a conv net with TANH, LOGISTIC, LEAKY_RELU and a SOFTMAX output (int16
  SOFTMAX is an op the int16x8 import does not run yet: its refusal is tested).
The classifiers are trained with a softmax head; the converted model ends at the logits (a
softmax does not change the argmax) except int16x8_act. Results go to manifest_int16.json.
"""
from __future__ import annotations

import argparse
import json
import os

import make_tflite_fixtures as base  # sets the TF environment (oneDNN off, legacy Keras)
import numpy as np
from tflite_fixture_models import conv_bn, dw_bn, inverted_residual

tf, keras, L, OUT = base.tf, base.keras, base.L, base.OUT


def m_ops():
    i = keras.Input((16, 16, 1))
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(i)      # 8x8
    h = L.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    h = L.Conv2D(8, 1)(h)
    x = L.Add()([x, h])
    x = L.MaxPooling2D(2)(x)                                                # 4x4
    x = L.Conv2D(16, 3, padding="same", activation="relu")(x)
    x = L.AveragePooling2D(2)(x)                                            # 2x2
    x = L.Flatten()(x)
    x = L.Dense(10)(x)
    return keras.Model(i, x)


def m_mobilenet():
    i = keras.Input((16, 16, 1))
    x = conv_bn(i, 8, 3, 2, "relu6")                                        # 8x8
    x = inverted_residual(x, 3, 8, 1)
    x = inverted_residual(x, 3, 16, 2)                                      # 4x4
    x = inverted_residual(x, 3, 16, 1)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(10)(x)
    return keras.Model(i, x)


def m_kws():
    i = keras.Input((49, 10, 1))
    x = L.Conv2D(16, (10, 4), strides=(2, 2), padding="same", use_bias=False)(i)   # 25x5
    x = L.ReLU()(L.BatchNormalization()(x))
    for _ in range(3):
        x = dw_bn(x, 3, 1, "relu")
        x = conv_bn(x, 16, 1, 1, "relu")
    x = L.AveragePooling2D((25, 5))(x)
    x = L.Flatten()(x)
    x = L.Dense(6)(x)
    return keras.Model(i, x)


def m_conv1d():
    i = keras.Input((49, 10))
    x = L.Conv1D(16, 5, strides=2, padding="same", activation="relu")(i)   # 25
    a = L.Conv1D(8, 3, padding="same", activation="relu")(x)
    b = L.Conv1D(8, 1, activation="relu")(x)
    x = L.Concatenate()([a, b])
    x = L.ZeroPadding1D((1, 2))(x)
    x = L.Conv1D(16, 4, strides=2, activation="relu")(x)
    x = L.Flatten()(x)
    x = L.Dense(6)(x)
    return keras.Model(i, x)


def m_leaky():
    i = keras.Input((16, 16, 1))
    x = L.LeakyReLU(0.1)(L.Conv2D(8, 3, strides=2, padding="same")(i))
    x = L.LeakyReLU(0.3)(L.DepthwiseConv2D(3, padding="same")(x))
    x = L.LeakyReLU(0.2)(L.Conv2D(16, 3, strides=2, padding="same")(x))
    x = L.Flatten()(x)
    x = L.Dense(10)(x)
    return keras.Model(i, x)


def m_sigmoid_tanh():
    i = keras.Input((16, 16, 1))
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="tanh")(i)
    x = L.Conv2D(8, 3, padding="same", activation="sigmoid")(x)
    g = L.Activation("sigmoid")(L.Conv2D(8, 1)(x))                      # a gate
    x = L.Activation("tanh")(L.Add()([x, g]))
    x = L.Flatten()(L.MaxPooling2D(2)(x))
    x = L.Dense(10)(x)
    return keras.Model(i, x)


def m_transpose_conv():
    i = keras.Input((16, 16, 1), batch_size=1)  # a static output_shape (else SHAPE/PACK ops compute it)
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(i)          # 8x8
    x = L.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)         # 4x4
    x = L.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu")(x)  # 8x8
    x = L.Conv2DTranspose(4, 4, strides=2, padding="valid")(x)                    # 18x18
    x = L.Flatten()(L.AveragePooling2D(3)(x))
    x = L.Dense(10)(x)
    return keras.Model(i, x)


def m_act():
    i = keras.Input((16, 16, 1))
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="tanh")(i)
    x = L.Conv2D(8, 3, padding="same", activation="sigmoid")(x)
    x = L.LeakyReLU(0.1)(L.Conv2D(8, 3, strides=2, padding="same")(x))
    x = L.Flatten()(x)
    x = L.Dense(10, activation="softmax")(x)
    return keras.Model(i, x)


# name: (builder, data kind, epochs, float io, keep the softmax head)
SPECS = {
    "int16x8_ops": (m_ops, "digits16", 10, False),
    "int16x8_mobilenet": (m_mobilenet, "digits16", 10, True),
    "int16x8_kws": (m_kws, "kws", 10, False),
    "int16x8_conv1d": (m_conv1d, "kws1d", 10, False),
    "int16x8_leaky": (m_leaky, "digits16", 10, False),
    "int16x8_sigmoid_tanh": (m_sigmoid_tanh, "digits16", 10, False),
    "int16x8_transpose_conv": (m_transpose_conv, "digits16", 10, False),
    "int16x8_act": (m_act, "digits16", 10, False),
}


def convert_16x8(model, rep, float_io):
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]

    def rep_ds():
        for k in range(len(rep)):
            yield [rep[k:k + 1]]

    conv.representative_dataset = rep_ds
    conv.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    if not float_io:
        conv.inference_input_type = tf.int16
        conv.inference_output_type = tf.int16
    return conv.convert()


def dataset(kind):
    if kind == "kws1d":
        xtr, xte, ytr, yte = base.dataset("kws")
        return xtr[..., 0], xte[..., 0], ytr, yte
    return base.dataset(kind)


def build_one(name):
    builder, kind, epochs, float_io = SPECS[name]
    base.seed_all()
    xtr, xte, ytr, yte = dataset(kind)
    model = builder()
    if name != "int16x8_act":
        model = keras.Model(model.input, L.Softmax()(model.output))
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(xtr, ytr, epochs=epochs, batch_size=32, verbose=0, shuffle=True)
    if name != "int16x8_act":
        model = keras.Model(model.input, model.layers[-2].output)   # the logits
    x_test, y_test = xte[:100].astype(np.float32), yte[:100]
    fl = model.predict(x_test, verbose=0)
    blob = convert_16x8(model, xtr[:100].astype(np.float32), float_io)
    path = os.path.join(OUT, f"{name}.tflite")
    with open(path, "wb") as f:
        f.write(blob)
    np.savez_compressed(os.path.join(OUT, f"{name}_data.npz"), x_test=x_test, y_test=y_test)
    ops = base.op_list(path)
    q = base.tf_predict(path, x_test)
    metric = (f"keras acc {np.mean(fl.argmax(1) == y_test):.2f}  "
              f"tflite(int16x8) acc {np.mean(q.argmax(1) == y_test):.2f}")
    print(f"{name}: {len(blob)} bytes  {metric}\n    ops: {' '.join(ops)}", flush=True)
    return {"ops": ops, "bytes": len(blob), "metric": metric, "mode": "float_io" if float_io else "int16"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args()
    names = [n for n in SPECS if not args.only or n in args.only]
    manifest_path = os.path.join(OUT, "manifest_int16.json")
    manifest = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
    for n in names:
        manifest[n] = build_one(n)
        assert os.path.getsize(os.path.join(OUT, f"{n}.tflite")) < 100_000, n
    with open(manifest_path, "w") as f:
        json.dump(dict(sorted(manifest.items())), f, indent=1)


if __name__ == "__main__":
    main()
