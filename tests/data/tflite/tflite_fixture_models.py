"""The small Keras models behind the int8 TFLite fixtures (imported by make_tflite_fixtures.py,
which says how to run it and sets the TensorFlow environment before importing this module).
Needs tensorflow-cpu + tf_keras (side venv), not part of the project's runtime."""
import tensorflow as tf
import tf_keras as keras

L = keras.layers


def hard_sigmoid(x):
    return L.ReLU(6.0)(L.Lambda(lambda v: v + 3.0)(x)) * (1.0 / 6.0)


def hard_swish(x):
    # x * relu6(x + 3) / 6 : the TFLite converter pattern-matches this to HARD_SWISH
    return L.Lambda(lambda v: v * tf.nn.relu6(v + 3.0) * (1.0 / 6.0))(x)


def conv_bn(x, c, k=3, s=1, act="relu"):
    x = L.Conv2D(c, k, strides=s, padding="same", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    if act == "relu":
        x = L.ReLU()(x)
    elif act == "relu6":
        x = L.ReLU(6.0)(x)
    elif act == "hswish":
        x = hard_swish(x)
    return x


def dw_bn(x, k=3, s=1, act="relu6"):
    x = L.DepthwiseConv2D(k, strides=s, padding="same", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    if act == "relu":
        x = L.ReLU()(x)
    elif act == "relu6":
        x = L.ReLU(6.0)(x)
    elif act == "hswish":
        x = hard_swish(x)
    return x


def m_mobilenet_v1():
    i = keras.Input((16, 16, 1))
    x = conv_bn(i, 8, 3, 2, "relu6")               # 8x8
    for c, s in [(16, 1), (32, 2), (32, 1)]:
        x = dw_bn(x, 3, s, "relu6")
        x = conv_bn(x, c, 1, 1, "relu6")
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(10, activation="softmax")(x)
    return keras.Model(i, x)


def inverted_residual(x, expand, out, s, act="relu6", se=False):
    cin = x.shape[-1]
    h = conv_bn(x, cin * expand, 1, 1, act)
    h = dw_bn(h, 3, s, act)
    if se:
        g = L.GlobalAveragePooling2D(keepdims=True)(h)
        g = L.Conv2D(max(4, h.shape[-1] // 4), 1, activation="relu")(g)
        g = L.Conv2D(h.shape[-1], 1)(g)
        g = hard_sigmoid(g)
        h = L.Multiply()([h, g])
    h = conv_bn(h, out, 1, 1, None)
    if s == 1 and cin == out:
        h = L.Add()([x, h])
    return h


def m_mobilenet_v2():
    i = keras.Input((16, 16, 1))
    x = conv_bn(i, 8, 3, 2, "relu6")               # 8x8x8
    x = inverted_residual(x, 2, 8, 1)              # residual ADD
    x = inverted_residual(x, 3, 16, 2)             # 4x4x16
    x = inverted_residual(x, 3, 16, 1)             # residual ADD
    x = conv_bn(x, 32, 1, 1, "relu6")
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(10, activation="softmax")(x)
    return keras.Model(i, x)


def m_mobilenet_v3():
    i = keras.Input((16, 16, 1))
    x = conv_bn(i, 8, 3, 2, "hswish")              # 8x8x8
    x = inverted_residual(x, 2, 8, 1, "relu", se=True)
    x = inverted_residual(x, 3, 16, 2, "hswish", se=True)
    x = inverted_residual(x, 3, 16, 1, "hswish", se=True)
    x = conv_bn(x, 32, 1, 1, "hswish")
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(10, activation="softmax")(x)
    return keras.Model(i, x)


def res_block(x, c, s):
    h = conv_bn(x, c, 3, s, "relu")
    h = conv_bn(h, c, 3, 1, None)
    if s != 1 or x.shape[-1] != c:
        x = conv_bn(x, c, 1, s, None)
    return L.ReLU()(L.Add()([x, h]))


def m_resnet():
    i = keras.Input((16, 16, 1))
    x = conv_bn(i, 8, 3, 1, "relu")
    x = res_block(x, 8, 1)
    x = res_block(x, 16, 2)
    x = res_block(x, 16, 2)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(10, activation="softmax")(x)
    return keras.Model(i, x)


def inception_block(x, c1, c3, c5, cp):
    b1 = L.Conv2D(c1, 1, activation="relu", padding="same")(x)
    b3 = L.Conv2D(c3, 1, activation="relu", padding="same")(x)
    b3 = L.Conv2D(c3, 3, activation="relu", padding="same")(b3)
    b5 = L.Conv2D(c5, 1, activation="relu", padding="same")(x)
    b5 = L.Conv2D(c5, 5, activation="relu", padding="same")(b5)
    bp = L.MaxPooling2D(3, strides=1, padding="same")(x)
    bp = L.Conv2D(cp, 1, activation="relu", padding="same")(bp)
    return L.Concatenate()([b1, b3, b5, bp])


def m_inception():
    i = keras.Input((16, 16, 1))
    x = L.Conv2D(8, 3, activation="relu", padding="same")(i)
    x = L.MaxPooling2D(2)(x)                                   # 8x8
    x = inception_block(x, 4, 8, 4, 4)                         # 20 ch
    x = L.AveragePooling2D(2)(x)                               # 4x4
    x = inception_block(x, 8, 8, 4, 4)                         # 24 ch
    x = L.AveragePooling2D(4)(x)                               # 1x1
    x = L.Flatten()(x)
    x = L.Dense(10, activation="softmax")(x)
    return keras.Model(i, x)


def m_ds_cnn_kws():
    i = keras.Input((49, 10, 1))
    x = L.Conv2D(16, (10, 4), strides=(2, 2), padding="same", use_bias=False)(i)   # 25x5
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    for _ in range(3):
        x = dw_bn(x, 3, 1, "relu")
        x = conv_bn(x, 16, 1, 1, "relu")
    x = L.AveragePooling2D((25, 5))(x)
    x = L.Flatten()(x)
    x = L.Dense(6, activation="softmax")(x)
    return keras.Model(i, x)


def m_autoencoder():
    i = keras.Input((64,))
    x = L.Dense(32, activation="relu")(i)
    x = L.Dense(8, activation="relu")(x)
    x = L.Dense(32, activation="relu")(x)
    x = L.Dense(64, activation="sigmoid")(x)
    return keras.Model(i, x)


def m_misc_ops():
    i = keras.Input((16, 16, 1))
    a = L.Conv2D(8, 3, padding="same")(i)
    a = L.LeakyReLU(0.2)(a)                                             # LEAKY_RELU
    b = L.Conv2D(8, 3, padding="same", activation="tanh")(i)           # TANH
    b = L.ReLU()(b)                                                     # standalone RELU (after TANH)
    c = L.Subtract()([a, b])                                            # SUB
    c = L.Conv2D(8, 3, strides=2, padding="same")(c)                   # 8x8
    c = L.Permute((2, 1, 3))(c)                                         # TRANSPOSE
    # asymmetric zero padding: cannot be folded into the next conv's SAME padding
    c = L.ZeroPadding2D(((0, 2), (2, 0)))(c)                            # PAD -> 10x10
    c = L.Conv2D(8, 3, padding="valid", activation="sigmoid")(c)       # LOGISTIC, 8x8
    c = L.Lambda(lambda v: tf.pad(v, [[0, 0], [1, 1], [1, 1], [0, 0]],
                                  constant_values=0.75))(c)             # PADV2 -> 10x10
    c = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(c)  # 5x5
    c = L.UpSampling2D(2, interpolation="nearest")(c)                   # RESIZE_NEAREST_NEIGHBOR 10x10
    c = L.ReLU(6.0)(c)                                                  # standalone RELU6
    c = L.Conv2D(10, 10, padding="valid")(c)                           # 1x1x10
    c = L.Lambda(lambda v: tf.squeeze(v, axis=[1, 2]))(c)               # RESHAPE -> patched to SQUEEZE
    c = L.Softmax()(c)                                                  # SOFTMAX
    return keras.Model(i, c)


def m_small_cnn():
    i = keras.Input((16, 16, 1))
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(i)
    x = L.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    x = L.Flatten()(x)
    x = L.Dense(10, activation="softmax")(x)
    return keras.Model(i, x)


# name -> (builder, dataset, epochs, conversion mode)
