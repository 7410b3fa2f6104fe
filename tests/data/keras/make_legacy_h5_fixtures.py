"""Generate legacy Keras 2 (tf.keras) HDF5 fixtures for tinycnn's Keras importer tests.

These files are written by REAL tf.keras (TensorFlow 2.15, Keras 2.15), with model.save('x.h5').

How to run (NOT part of CI; the generated files are committed):

    python3 -m venv /work/venvs/tf215
    /work/venvs/tf215/bin/pip install "tensorflow-cpu==2.15.*" scikit-learn h5py
    cd tests/data/keras && /work/venvs/tf215/bin/python make_legacy_h5_fixtures.py

Versions used for the committed files: tensorflow-cpu 2.15.1 (keras 2.15.0), h5py 3.16.0,
numpy 1.26.4, scikit-learn 1.9.1, Python 3.11.

Writes legacy_NAME.h5 and legacy_NAME_data.npz (keys x_calib, x_test, y_test, y_keras) for
NAME in seed_sigmoid, vgg, mobilenet_v2, nested. Data/split are identical to make_keras_fixtures.py
(sklearn digits, x/16, np.kron upsample to [N,16,16,1], seed 0, 300 test, 200 calib from train).
legacy_seed_sigmoid.h5 keeps the optimizer state (/optimizer_weights); the others are saved
with include_optimizer=False to stay small.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers
from sklearn.datasets import load_digits

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 0
N_CALIB = 200
N_TEST = 300


def load_data():
    d = load_digits()
    x = d.images.astype(np.float32) / 16.0
    y = d.target.astype(np.int64)
    rng = np.random.RandomState(SEED)
    perm = rng.permutation(len(x))
    test_idx, train_idx = perm[:N_TEST], perm[N_TEST:]
    return x[train_idx], y[train_idx], x[test_idx], y[test_idx]


def up16(x8):
    out = np.stack([np.kron(img, np.ones((2, 2), np.float32)) for img in x8])
    return out[..., None].astype(np.float32)


def m_seed_sigmoid():
    from tensorflow.keras.models import Sequential
    from tensorflow.keras.layers import Conv2D, Activation, MaxPooling2D, Flatten, Dense

    model = Sequential()
    model.add(Conv2D(8, (3, 3), input_shape=(16, 16, 1)))
    model.add(Activation("sigmoid"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Conv2D(16, (3, 3)))
    model.add(Activation("sigmoid"))
    model.add(MaxPooling2D((2, 2)))
    model.add(Flatten())
    model.add(Dense(32))
    model.add(Activation("sigmoid"))
    model.add(Dense(10))
    model.add(Activation("softmax"))
    return model


def m_vgg():
    return keras.Sequential(
        [
            keras.Input((16, 16, 1)),
            layers.Conv2D(8, 3, padding="same", activation="relu"),
            layers.BatchNormalization(momentum=0.9),
            layers.Conv2D(8, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.BatchNormalization(momentum=0.9),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(32, activation="relu"),
            layers.Dropout(0.3),
            layers.Dense(10, activation="softmax"),
        ],
        name="vgg",
    )


def inverted_res(x, expansion, stride, filters, block_id):
    cin = x.shape[-1]
    prefix = f"block_{block_id}_"
    inp = x
    x = layers.Conv2D(expansion * cin, 1, padding="same", use_bias=False, name=prefix + "expand")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.9, name=prefix + "expand_BN")(x)
    x = layers.ReLU(6.0, name=prefix + "expand_relu")(x)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=((0, 1), (0, 1)), name=prefix + "pad")(x)
    x = layers.DepthwiseConv2D(3, strides=stride, use_bias=False,
                               padding="same" if stride == 1 else "valid", name=prefix + "depthwise")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.9, name=prefix + "depthwise_BN")(x)
    x = layers.ReLU(6.0, name=prefix + "depthwise_relu")(x)
    x = layers.Conv2D(filters, 1, padding="same", use_bias=False, name=prefix + "project")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.9, name=prefix + "project_BN")(x)
    if cin == filters and stride == 1:
        return layers.Add(name=prefix + "add")([inp, x])
    return x


def m_mobilenet_v2():
    inp = keras.Input((16, 16, 1))
    x = layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False, name="Conv1")(inp)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.9, name="bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    x = inverted_res(x, 2, 1, 8, 1)
    x = inverted_res(x, 3, 2, 16, 2)
    x = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, name="dw_mult2")(x)  # 32 ch, bias
    x = layers.Conv2D(32, 1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.9, name="Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    out = layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="mobilenet_v2")


def m_nested():
    # Functional backbone used as a layer (the usual Keras-2 transfer-learning file), one
    # SeparableConv2D, PReLU, and a shared 1x1 conv called twice (node_index 0 and 1).
    binp = keras.Input((16, 16, 1), name="backbone_input")
    b = layers.Conv2D(8, 3, strides=2, padding="same", name="bb_conv")(binp)
    b = layers.PReLU(shared_axes=[1, 2], name="bb_prelu")(b)
    b = layers.SeparableConv2D(8, 3, padding="same", name="bb_sep")(b)
    b = layers.LeakyReLU(alpha=0.1, name="bb_leaky")(b)
    backbone = keras.Model(binp, b, name="backbone")

    inp = keras.Input((16, 16, 1), name="image")
    f = backbone(inp)
    shared = layers.Conv2D(8, 1, name="shared_conv")
    a = shared(layers.Activation("tanh", name="act_tanh")(f))
    c = shared(layers.Activation("swish", name="act_swish")(f))
    x = layers.Subtract(name="sub")([a, c])
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    out = layers.Dense(10, activation="softmax", name="fc")(x)
    return keras.Model(inp, out, name="nested")


def main():
    xtr8, ytr, xte8, yte = load_data()
    xtr, xte = up16(xtr8), up16(xte8)
    specs = [
        ("seed_sigmoid", m_seed_sigmoid, 15, 1e-2),
        ("vgg", m_vgg, 8, 3e-3),
        ("mobilenet_v2", m_mobilenet_v2, 8, 5e-3),
        ("nested", m_nested, 10, 5e-3),
    ]
    for name, build, epochs, lr in specs:
        keras.backend.clear_session()
        keras.utils.set_random_seed(SEED)
        model = build()
        model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(xtr, ytr, epochs=epochs, batch_size=32, verbose=0, shuffle=True)
        y_keras = model.predict(xte, batch_size=100, verbose=0).astype(np.float32)
        acc = float((y_keras.argmax(-1) == yte).mean())
        path = os.path.join(HERE, f"legacy_{name}.h5")
        model.save(path, include_optimizer=(name == "seed_sigmoid"))
        np.savez_compressed(
            os.path.join(HERE, f"legacy_{name}_data.npz"),
            x_calib=xtr[:N_CALIB], x_test=xte, y_test=yte, y_keras=y_keras,
        )
        m2 = keras.models.load_model(path, compile=False)
        y2 = m2.predict(xte, batch_size=100, verbose=0)
        assert np.allclose(y2, y_keras, atol=1e-5)
        print(f"legacy_{name:14s} test acc {acc:.3f}  params {model.count_params()}", flush=True)
    import keras as keras_pkg
    print("tensorflow", tf.__version__, "keras", keras_pkg.__version__)


if __name__ == "__main__":
    main()
