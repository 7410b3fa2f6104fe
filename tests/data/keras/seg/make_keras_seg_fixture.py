"""Generate unet_decoder.h5 (tf.keras 2 HDF5) and unet_decoder_data.npz: a small UNet-style
decoder with Conv2DTranspose (stride 2 'same' with relu, stride 1 'valid', output_padding) and
UpSampling2D(interpolation="bilinear"), random seeded weights; npz keys x_calib, x_test and
y_keras (model.predict(x_test), the oracle).

    /work/venvs/tf/bin/python tests/data/keras/seg/make_keras_seg_fixture.py

Versions used: tensorflow-cpu 2.21.0, tf_keras 2.21.0.
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tf_keras as keras  # noqa: E402

L = keras.layers
OUT = os.path.dirname(os.path.abspath(__file__))


def main():
    keras.utils.set_random_seed(0)
    x_in = keras.Input((8, 8, 3))
    x = L.Conv2D(8, 3, padding="same", activation="relu")(x_in)
    x = L.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)  # 4x4
    x = L.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu")(x)  # 8x8
    x = L.Conv2DTranspose(8, 3, strides=1, padding="valid")(x)  # 10x10
    x = L.Conv2DTranspose(6, 3, strides=2, padding="valid", output_padding=1, use_bias=False)(x)  # 22x22
    x = L.UpSampling2D(2, interpolation="bilinear")(x)  # 44x44
    model = keras.Model(x_in, L.Conv2D(3, 1)(x))
    rng = np.random.default_rng(0)
    x_calib = rng.standard_normal((64, 8, 8, 3)).astype(np.float32)
    x_test = rng.standard_normal((8, 8, 8, 3)).astype(np.float32)
    model.save(os.path.join(OUT, "unet_decoder.h5"))
    np.savez_compressed(os.path.join(OUT, "unet_decoder_data.npz"), x_calib=x_calib, x_test=x_test,
                        y_keras=model.predict(x_test, verbose=0))


if __name__ == "__main__":
    main()
