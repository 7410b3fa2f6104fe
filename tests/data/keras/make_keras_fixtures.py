"""Generate Keras 3 fixture files (.keras and legacy .h5) for tinycnn's Keras importer tests.

How to run (NOT part of CI; the generated files are committed):

    python3 -m venv /work/venvs/keras3
    /work/venvs/keras3/bin/pip install torch==2.13.0 keras h5py scikit-learn numpy
    cd tests/data/keras && KERAS_BACKEND=torch /work/venvs/keras3/bin/python make_keras_fixtures.py

Versions used for the committed files: keras 3.15.1, torch 2.13.0+cpu, h5py 3.16.0,
numpy 2.4.6, scikit-learn 1.9.1, Python 3.11.

For each model NAME this writes, in the directory of this script:
    NAME.keras      Keras 3 zip format (config.json, metadata.json, model.weights.h5)
    NAME.h5         Keras 3 "legacy h5" format (model.save('NAME.h5'))
    NAME_data.npz   x_calib (200 train images), x_test (300 test images), y_test (int labels),
                    y_keras (Keras' own float32 outputs of model.predict(x_test))

Data: sklearn digits, float32 x/16 in [0,1], upsampled 8x8 -> 16x16 with np.kron, NHWC [N,16,16,1].
Exceptions: mobilenet_v3 takes raw-pixel-style input x*255 in [0,255] (it starts with
Rescaling(1/127.5, offset=-1)); conv1d takes the flattened 8x8 digit, shape [N,64,1].
Everything is seeded (numpy/python/torch via keras.utils.set_random_seed).
"""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import keras
from keras import layers
from sklearn.datasets import load_digits

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 0
N_CALIB = 200
N_TEST = 300
# seed_sigmoid is saved straight after training, so its files also hold optimizer state
# (model.weights.h5: /optimizer/vars/N; legacy .h5: /optimizer_weights) that importers must skip.
KEEP_OPTIMIZER = {"seed_sigmoid"}


def load_data():
    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)  # [N,8,8]
    y = d.target.astype(np.int64)
    rng = np.random.RandomState(SEED)
    perm = rng.permutation(len(x))
    test_idx, train_idx = perm[:N_TEST], perm[N_TEST:]
    return x[train_idx], y[train_idx], x[test_idx], y[test_idx]


def up16(x8):
    """[N,8,8] -> [N,16,16,1] via np.kron with a 2x2 block of ones."""
    out = np.stack([np.kron(img, np.ones((2, 2), np.float32)) for img in x8])
    return out[..., None].astype(np.float32)


# ---------------------------------------------------------------- models
def m_seed_sigmoid():
    from keras.models import Sequential
    from keras.layers import Conv2D, Activation, MaxPooling2D, Flatten, Dense

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


def bn():
    return layers.BatchNormalization(epsilon=1e-3, momentum=0.9)


def m_mobilenet_v1():
    inp = keras.Input((16, 16, 1), name="input")
    x = layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False, name="conv1")(inp)
    x = bn()(x)
    x = layers.ReLU(max_value=6.0, name="conv1_relu")(x)
    # dw block 1
    x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="conv_dw_1")(x)
    x = bn()(x)
    x = layers.ReLU(6.0)(x)
    x = layers.Conv2D(16, 1, use_bias=False, name="conv_pw_1")(x)
    x = bn()(x)
    x = layers.ReLU(6.0)(x)
    # dw block 2: stride 2 with depth_multiplier=2 (16 -> 32 channels), with bias
    x = layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2, name="conv_dw_2")(x)
    x = bn()(x)
    x = layers.ReLU(6.0)(x)
    # separable conv once
    x = layers.SeparableConv2D(24, 3, padding="same", name="sep_conv")(x)
    x = bn()(x)
    x = layers.ReLU(6.0)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.1)(x)
    out = layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="mobilenet_v1")


def correct_pad(size, k):
    """Same as keras.applications imagenet_utils.correct_pad for even sizes."""
    adjust = (1 - size % 2, 1 - size % 2)
    c = (k // 2, k // 2)
    return ((c[0] - adjust[0], c[0]), (c[1] - adjust[1], c[1]))


def inverted_res(x, expansion, stride, filters, block_id):
    cin = x.shape[-1]
    prefix = f"block_{block_id}_"
    inp = x
    x = layers.Conv2D(expansion * cin, 1, padding="same", use_bias=False, name=prefix + "expand")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.9, name=prefix + "expand_BN")(x)
    x = layers.ReLU(6.0, name=prefix + "expand_relu")(x)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=correct_pad(x.shape[1], 3), name=prefix + "pad")(x)
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
    x = layers.ReLU(6.0, name="Conv1_relu")(x)               # 8x8x8
    x = inverted_res(x, 2, 1, 8, 1)                          # residual Add
    x = inverted_res(x, 3, 2, 16, 2)                         # ZeroPadding2D + stride-2 valid dw -> 4x4x16
    x = inverted_res(x, 3, 1, 16, 3)                         # residual Add
    x = layers.Conv2D(32, 1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.9, name="Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    out = layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="mobilenet_v2")


def m_mobilenet_v3():
    inp = keras.Input((16, 16, 1))
    x = layers.Rescaling(scale=1.0 / 127.5, offset=-1.0, name="rescaling")(inp)
    x = layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False, name="conv")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.9, name="conv_bn")(x)
    x = layers.Activation("hard_swish", name="conv_hswish")(x)      # 8x8x8
    shortcut = x
    x = layers.Conv2D(16, 1, use_bias=False, name="expand")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.9, name="expand_bn")(x)
    x = layers.Activation("relu", name="expand_relu")(x)
    x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="depthwise")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.9, name="depthwise_bn")(x)
    x = layers.Activation("relu", name="depthwise_relu")(x)
    # squeeze-excite
    se = layers.GlobalAveragePooling2D(keepdims=True, name="se_pool")(x)
    se = layers.Conv2D(4, 1, padding="same", activation="relu", name="se_reduce")(se)
    se = layers.Conv2D(16, 1, padding="same", name="se_expand")(se)
    se = layers.Activation("hard_sigmoid", name="se_hsigmoid")(se)
    x = layers.Multiply(name="se_mul")([x, se])
    x = layers.Conv2D(8, 1, use_bias=False, name="project")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.9, name="project_bn")(x)
    x = layers.Add(name="add")([shortcut, x])
    x = layers.AveragePooling2D(2, name="avg_pool")(x)              # 4x4x8
    x = layers.Conv2D(32, 1, name="conv_last")(x)
    x = layers.Activation("hard_swish", name="last_hswish")(x)
    x = layers.GlobalAveragePooling2D()(x)
    out = layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="mobilenet_v3")


def basic_block(x, filters, stride, name):
    shortcut = x
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=name + "_conv1")(x)
    y = layers.BatchNormalization(momentum=0.9, name=name + "_bn1")(y)
    y = layers.Activation("relu", name=name + "_relu1")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=name + "_conv2")(y)
    y = layers.BatchNormalization(momentum=0.9, name=name + "_bn2")(y)
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=name + "_proj")(x)
        shortcut = layers.BatchNormalization(momentum=0.9, name=name + "_proj_bn")(shortcut)
    y = layers.Add(name=name + "_add")([shortcut, y])
    return layers.ReLU(name=name + "_out")(y)


def m_resnet():
    inp = keras.Input((16, 16, 1))
    x = layers.Conv2D(8, 3, padding="same", use_bias=False, name="stem_conv")(inp)
    x = layers.BatchNormalization(momentum=0.9, name="stem_bn")(x)
    x = layers.Activation("relu", name="stem_relu")(x)
    x = layers.MaxPooling2D(2, name="stem_pool")(x)          # 8x8x8
    x = basic_block(x, 8, 1, "res1")
    x = basic_block(x, 16, 2, "res2")                        # strided 1x1 projection
    x = layers.GlobalMaxPooling2D(name="gmp")(x)
    out = layers.Dense(10, activation="softmax", name="fc")(x)
    return keras.Model(inp, out, name="resnet")


def m_inception():
    inp = keras.Input((16, 16, 1))
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="stem")(inp)
    x = layers.MaxPooling2D(2, name="stem_pool")(x)          # 8x8x8
    b1 = layers.Conv2D(4, 1, activation="relu", name="b1_1x1")(x)
    b2 = layers.Conv2D(4, 1, activation="relu", name="b2_1x1")(x)
    b2 = layers.Conv2D(6, 3, padding="same", activation="relu", name="b2_3x3")(b2)
    b3 = layers.Conv2D(2, 1, activation="relu", name="b3_1x1")(x)
    b3 = layers.Conv2D(4, 5, padding="same", activation="relu", name="b3_5x5")(b3)
    b4 = layers.MaxPooling2D(3, strides=1, padding="same", name="b4_pool")(x)
    b4 = layers.Conv2D(4, 1, activation="relu", name="b4_1x1")(b4)
    x = layers.Concatenate(axis=-1, name="mixed")([b1, b2, b3, b4])   # 8x8x18
    x = layers.AveragePooling2D(3, strides=2, padding="same", name="avg_same")(x)  # 4x4x18
    x = layers.Flatten()(x)
    out = layers.Dense(10, activation="softmax", name="fc")(x)
    return keras.Model(inp, out, name="inception")


def m_nested(x_adapt):
    # inner Functional backbone (like keras.applications used as a layer)
    binp = keras.Input((16, 16, 1), name="backbone_input")
    b = layers.Conv2D(8, 3, padding="same", name="bb_conv1")(binp)
    b = layers.LeakyReLU(negative_slope=0.1, name="bb_leaky")(b)
    b = layers.Conv2D(8, 3, padding="same", name="bb_conv2")(b)
    b = layers.PReLU(shared_axes=[1, 2], name="bb_prelu")(b)
    b = layers.MaxPooling2D(2, name="bb_pool")(b)             # 8x8x8
    backbone = keras.Model(binp, b, name="backbone")

    # inner Sequential head
    head = keras.Sequential(
        [keras.Input((128,)), layers.Dense(16, activation="tanh", name="head_fc1"),
         layers.Dense(10, activation="softmax", name="head_fc2")],
        name="head",
    )

    norm = layers.Normalization(axis=-1, name="norm")
    norm.adapt(x_adapt)

    inp = keras.Input((16, 16, 1), name="image")
    x = norm(inp)
    f = backbone(x)
    t = layers.Activation("tanh", name="act_tanh")(f)
    s = layers.Activation("swish", name="act_swish")(f)
    shared = layers.Conv2D(8, 1, name="shared_conv")          # shared layer: called twice
    a = shared(t)
    c = shared(s)
    x = layers.Subtract(name="sub")([a, c])
    x = layers.Cropping2D(((1, 1), (1, 1)), name="crop")(x)    # 6x6x8
    x = layers.UpSampling2D(2, name="up")(x)                   # 12x12x8
    x = layers.MaxPooling2D(2, name="pool2")(x)                # 6x6x8
    x = layers.Conv2D(8, 3, activation="relu", name="conv_out")(x)  # 4x4x8
    x = layers.Reshape((128,), name="reshape")(x)
    out = head(x)
    return keras.Model(inp, out, name="nested")


def m_conv1d():
    return keras.Sequential(
        [
            keras.Input((64, 1)),
            layers.Conv1D(8, 5, padding="same", activation="relu", name="c1"),
            layers.MaxPooling1D(2, name="p1"),
            layers.Conv1D(24, 3, strides=2, activation="relu", name="c2"),
            layers.GlobalAveragePooling1D(name="gap"),
            layers.Dense(10, activation="softmax", name="fc"),
        ],
        name="conv1d",
    )


def m_lambda_bad():
    inp = keras.Input((16, 16, 1))
    x = layers.Conv2D(4, 3, activation="relu", name="conv")(inp)
    x = layers.Lambda(lambda t: t * 2.0, name="times_two")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    out = layers.Dense(10, activation="softmax", name="fc")(x)
    return keras.Model(inp, out, name="lambda_bad")


# ---------------------------------------------------------------- driver
def main():
    keras.utils.set_random_seed(SEED)
    xtr8, ytr, xte8, yte = load_data()
    x16_tr, x16_te = up16(xtr8), up16(xte8)

    specs = [
        # name, builder, input transform, epochs, learning rate
        ("seed_sigmoid", m_seed_sigmoid, None, 15, 1e-2),
        ("vgg", m_vgg, None, 8, 3e-3),
        ("mobilenet_v1", m_mobilenet_v1, None, 8, 5e-3),
        ("mobilenet_v2", m_mobilenet_v2, None, 8, 5e-3),
        ("mobilenet_v3", m_mobilenet_v3, "x255", 8, 5e-3),
        ("resnet", m_resnet, None, 8, 3e-3),
        ("inception", m_inception, None, 6, 3e-3),
        ("nested", m_nested, None, 8, 3e-3),
        ("conv1d", m_conv1d, "flat", 30, 1e-2),
        ("lambda_bad", m_lambda_bad, None, 3, 3e-3),
    ]
    summary = []
    for name, build, tf, epochs, lr in specs:
        keras.backend.clear_session()  # fresh auto-names (conv2d, conv2d_1, ...) per model
        keras.utils.set_random_seed(SEED)
        if tf == "x255":
            xtr, xte = x16_tr * 255.0, x16_te * 255.0
        elif tf == "flat":
            xtr, xte = xtr8.reshape(-1, 64, 1), xte8.reshape(-1, 64, 1)
        else:
            xtr, xte = x16_tr, x16_te
        model = build(xtr) if name == "nested" else build()
        model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(xtr, ytr, epochs=epochs, batch_size=32, verbose=0, shuffle=True)
        y_keras = model.predict(xte, batch_size=100, verbose=0).astype(np.float32)
        acc = float((y_keras.argmax(-1) == yte).mean())

        if name not in KEEP_OPTIMIZER:
            # Drop the optimizer state to keep files small: rebuild the same architecture
            # (same auto-names thanks to clear_session) and copy the trained weights.
            weights = model.get_weights()
            keras.backend.clear_session()
            model = build(xtr) if name == "nested" else build()
            model.set_weights(weights)
            y2 = model.predict(xte, batch_size=100, verbose=0)
            assert np.allclose(y2, y_keras, atol=1e-6)

        p_keras = os.path.join(HERE, name + ".keras")
        p_h5 = os.path.join(HERE, name + ".h5")
        model.save(p_keras)
        model.save(p_h5)
        np.savez_compressed(
            os.path.join(HERE, name + "_data.npz"),
            x_calib=xtr[:N_CALIB].astype(np.float32),
            x_test=xte.astype(np.float32),
            y_test=yte.astype(np.int64),
            y_keras=y_keras,
        )
        # sanity: both files reload to the same outputs
        for p in (p_keras, p_h5):
            m2 = keras.models.load_model(p, safe_mode=False, compile=False)
            y2 = np.asarray(m2.predict(xte, batch_size=100, verbose=0))
            assert np.allclose(y2, y_keras, atol=1e-5), (p, np.abs(y2 - y_keras).max())
        summary.append((name, acc, model.count_params()))
        print(f"{name:14s} test acc {acc:.3f}  params {model.count_params()}", flush=True)
    print("keras", keras.__version__, "backend", keras.backend.backend())


if __name__ == "__main__":
    main()
