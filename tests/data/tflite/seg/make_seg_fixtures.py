"""Generate seg_head.tflite: an int8 segmentation head made by the TF converter, with the ops of
DeepLab / selfie-segmentation / UNet decoders (CONV_2D, dilated DEPTHWISE_CONV_2D (ASPP),
TRANSPOSE_CONV, RESIZE_BILINEAR with half_pixel_centers and with align_corners, DEPTH_TO_SPACE,
SPACE_TO_DEPTH, STRIDED_SLICE, ARG_MAX), and seg_head_data.npz (x_q: int8 inputs, raw); plus the
float32 model seg_head_float.tflite with seg_head_float_data.npz (x: float inputs, logits and
labels: the TFLite interpreter's float outputs, the oracle of the float import).

How to run (side venv with TensorFlow, never the project .venv):

    /work/venvs/tf/bin/python tests/data/tflite/seg/make_seg_fixtures.py

Versions used for the committed files: tensorflow-cpu 2.21.0, tf_keras 2.21.0, numpy 2.x.
Random (seeded) weights; no training: the test compares tinycnn with TFLite Micro bit for bit.
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

L = keras.layers
OUT = os.path.dirname(os.path.abspath(__file__))
SHAPE = (12, 16, 3)


def build():
    keras.utils.set_random_seed(0)
    x_in = keras.Input(SHAPE, batch_size=1)  # static shapes: no SHAPE/PACK, dilation fused
    x = L.Conv2D(8, 3, padding="same", activation="relu")(x_in)
    aspp = L.DepthwiseConv2D(3, dilation_rate=2, padding="same", activation="relu")(x)  # dilated depthwise
    x = L.Conv2D(16, 1)(L.Concatenate()([x, aspp]))
    s2d = L.Lambda(lambda t: tf.nn.space_to_depth(t, 2))(x)  # 6x8x64
    up = L.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu")(s2d)  # 12x16x8
    d2s = L.Lambda(lambda t: tf.nn.depth_to_space(t, 2))(L.Conv2D(16, 1)(up))  # 24x32x4
    half = L.Lambda(lambda t: tf.image.resize(t, (36, 48), method="bilinear"))(up)  # half_pixel_centers
    align = L.Lambda(lambda t: tf.compat.v1.image.resize_bilinear(t, (24, 32), align_corners=True))(up)
    merged = L.Concatenate()([d2s, align, L.Lambda(lambda t: t[:, ::-1, 1:-1:1, :])(
        L.Lambda(lambda t: t[:, 6:30, 8:42:1, :])(half))[:, :, :32]])
    logits = L.Conv2D(5, 1)(merged)
    sliced = L.Lambda(lambda t: t[:, 1::2, ::3, :])(logits)
    labels = L.Lambda(lambda t: tf.argmax(t, axis=-1, output_type=tf.int32))(sliced)
    return keras.Model(x_in, [sliced, labels])


def main():
    model = build()
    rng = np.random.default_rng(0)
    rep = rng.standard_normal((64,) + SHAPE).astype(np.float32)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([rep[k:k + 1]] for k in range(len(rep)))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    blob = conv.convert()
    with open(os.path.join(OUT, "seg_head.tflite"), "wb") as f:
        f.write(blob)
    interp = tf.lite.Interpreter(model_content=blob)
    scale, zp = interp.get_input_details()[0]["quantization"]
    x = rng.standard_normal((20,) + SHAPE).astype(np.float32)
    x_q = np.clip(np.round(x / scale) + zp, -128, 127).astype(np.int8)
    np.savez_compressed(os.path.join(OUT, "seg_head_data.npz"), x_q=x_q)
    fblob = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    with open(os.path.join(OUT, "seg_head_float.tflite"), "wb") as f:
        f.write(fblob)
    fi = tf.lite.Interpreter(model_content=fblob)
    fi.allocate_tensors()
    outs = {d["name"]: d for d in fi.get_output_details()}
    logits, labels = [], []
    for k in range(len(x)):
        fi.set_tensor(fi.get_input_details()[0]["index"], x[k:k + 1])
        fi.invoke()
        for d in outs.values():
            v = fi.get_tensor(d["index"])
            (labels if v.dtype == np.int32 else logits).append(v)
    np.savez_compressed(os.path.join(OUT, "seg_head_float_data.npz"), x=x, logits=np.concatenate(logits),
                        labels=np.concatenate(labels))
    ops = sorted({interp._get_ops_details()[i]["op_name"] for i in range(len(interp._get_ops_details()))})
    print("seg_head.tflite:", len(blob), "bytes; ops:", ", ".join(ops))


if __name__ == "__main__":
    main()
