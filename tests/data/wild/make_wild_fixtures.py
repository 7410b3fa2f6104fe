"""Fixtures for models as users bring them (issue 10): a multi-output int8 TFLite model and a
Keras model with None spatial dimensions.

How to run (NOT in the project .venv: needs TensorFlow; the generated files are committed):

    /work/venvs/tf/bin/python tests/data/wild/make_wild_fixtures.py

(/work/venvs/tf: tensorflow-cpu 2.21.0, tf_keras 2.21.0, keras 3.15.1, scikit-learn.)

Writes, next to this script:
  multi_output.tflite / multi_output_data.npz: digits 8x8x1 -> (class softmax [N,10],
      sigmoid reconstruction map [N,8,8,1]); int8 in/out, full-integer quantization with a
      representative dataset. npz: x_test (float32), y_test (labels).
  dynamic_spatial.h5 / dynamic_spatial_data.npz: Keras 3 model with Input(shape=(None, None, 1))
      (conv, conv stride 2, GlobalAveragePooling2D, Dense softmax). npz: x_calib and x_test at
      12x20, y_keras = Keras' own model.predict(x_test); x_test2 at 16x16 with y_keras2.
Seeded (seed 0).
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

HERE = Path(__file__).parent


def digits():
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[..., None]
    return x, d.target.astype(np.int64)


def multi_output():
    keras.utils.set_random_seed(0)
    x, y = digits()
    inp = keras.Input((8, 8, 1), name="image")
    h = layers.Conv2D(16, 3, padding="same", activation="relu")(inp)
    h = layers.Conv2D(32, 3, padding="same", activation="relu")(h)
    recon = layers.Conv2D(1, 1, activation="sigmoid", name="recon")(h)
    g = layers.GlobalAveragePooling2D()(h)
    cls = layers.Dense(10, activation="softmax", name="cls")(g)
    model = keras.Model(inp, [cls, recon])
    model.compile("adam", ["sparse_categorical_crossentropy", "mse"])
    model.fit(x[:1400], [y[:1400], x[:1400]], epochs=40, batch_size=32, verbose=0)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([x[i:i + 1]] for i in range(200))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    (HERE / "multi_output.tflite").write_bytes(conv.convert())
    print("multi_output keras accuracy", np.mean(model.predict(x[1400:], verbose=0)[0].argmax(1) == y[1400:]))
    np.savez_compressed(HERE / "multi_output_data.npz", x_test=x[1400:1500], y_test=y[1400:1500])


def dynamic_spatial():
    keras.utils.set_random_seed(0)
    x, y = digits()
    big = np.kron(x[..., 0], np.ones((2, 2), np.float32))[..., None]  # 16x16
    inp = keras.Input((None, None, 1), name="image")
    h = layers.Conv2D(16, 3, padding="same", activation="relu")(inp)
    h = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(h)
    h = layers.Conv2D(32, 3, padding="same", activation="relu")(h)
    h = layers.GlobalAveragePooling2D()(h)
    out = layers.Dense(10, activation="softmax")(h)
    model = keras.Model(inp, out)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(big[:1400], y[:1400], epochs=30, batch_size=32, verbose=0)
    print("dynamic_spatial keras accuracy", model.evaluate(big[1400:], y[1400:], verbose=0))
    model.save(HERE / "dynamic_spatial.h5")
    wide = np.concatenate([big[:, 2:14], big[:, 2:14, :4]], axis=2)  # 12x20
    np.savez_compressed(HERE / "dynamic_spatial_data.npz", x_calib=wide[:200], x_test=wide[1400:1500],
                        y_test=y[1400:1500], y_keras=model.predict(wide[1400:1500], verbose=0),
                        x_test2=big[1400:1500], y_keras2=model.predict(big[1400:1500], verbose=0))


if __name__ == "__main__":
    multi_output()
    dynamic_spatial()
    for f in sorted(HERE.iterdir()):
        print(f.name, f.stat().st_size)
