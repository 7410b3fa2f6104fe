"""Generate the "as found in the wild" .tflite fixtures: hybrid (dynamic-range) and float16-weight
files, a PRELU model, and a copy of an int8 fixture whose 1-D bias quantization carries
quantized_dimension=3 (as TFLite Micro's person_detect.tflite does).

Same side venv and environment as make_tflite_fixtures.py (whose data and helpers it reuses):

    /work/venvs/tf/bin/python tests/data/tflite/make_tflite_wild_fixtures.py [--only NAME ...]

Writes NAME.tflite + NAME_data.npz (x_test float32 100 samples, y_test int64) for:
- hybrid_kws: a 64-channel DS-CNN (MLPerf Tiny KWS-like) converted with optimizations=[DEFAULT] and no
  representative dataset (float activations, int8 per-channel conv / FC weights with scales);
- fp16_cnn: the small digits CNN converted with target_spec.supported_types=[tf.float16]
  (float16 constants, each read through a DEQUANTIZE op);
- prelu_int8: MediaPipe-style conv + PReLU(shared_axes=[1, 2]) (per-channel alpha), full int8;
- bias_qdim3: mobilenet_v1.tflite with every 1-D int32 bias tensor's quantized_dimension set to 3.
Results (ops, sizes, accuracies) are merged into manifest_wild.json.
"""
from __future__ import annotations

import argparse
import json
import os

import make_tflite_fixtures as base  # sets the TF environment (oneDNN off, legacy Keras)
import numpy as np
from tflite_fixture_models import conv_bn, dw_bn

tf, keras, L, OUT = base.tf, base.keras, base.L, base.OUT


def m_kws_hybrid():
    """MLPerf Tiny DS-CNN-like, 64 channels: the converter only quantizes weights with >= 1024
    elements (10x4 conv, 1x1 convs, the hidden dense; 3x3 depthwise stays float)."""
    i = keras.Input((49, 10, 1))
    x = L.Conv2D(64, (10, 4), strides=(2, 2), padding="same", use_bias=False)(i)
    x = L.ReLU()(L.BatchNormalization()(x))
    for _ in range(3):
        x = dw_bn(x, 3, 1, "relu")
        x = conv_bn(x, 64, 1, 1, "relu")
    x = L.AveragePooling2D((25, 5))(x)
    x = L.Flatten()(x)
    x = L.Dense(32, activation="relu")(x)
    x = L.Dense(6, activation="softmax")(x)
    return keras.Model(i, x)


def m_prelu():
    i = keras.Input((16, 16, 1))
    x = L.Conv2D(8, 3, strides=2, padding="same")(i)
    x = L.PReLU(shared_axes=[1, 2], alpha_initializer=keras.initializers.Constant(0.25))(x)
    x = L.DepthwiseConv2D(3, padding="same")(x)
    x = L.PReLU(shared_axes=[1, 2], alpha_initializer=keras.initializers.RandomUniform(-0.5, 0.5))(x)
    x = L.Conv2D(16, 3, strides=2, padding="same")(x)
    x = L.PReLU(shared_axes=[1, 2])(x)
    x = L.Flatten()(x)
    x = L.Dense(10, activation="softmax")(x)
    return keras.Model(i, x)


SPECS = {
    "hybrid_kws": (m_kws_hybrid, "kws", 10, "hybrid"),
    "fp16_cnn": (base.m_small_cnn, "digits16", 10, "fp16"),
    "prelu_int8": (m_prelu, "digits16", 10, "int8"),
}


def convert(model, rep, mode):
    if mode == "int8":
        return base.convert(model, rep, "int8")
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "fp16":
        conv.target_spec.supported_types = [tf.float16]
    return conv.convert()


def build_one(name):
    builder, kind, epochs, mode = SPECS[name]
    base.seed_all()
    xtr, xte, ytr, yte = base.dataset(kind)
    model = builder()
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(xtr, ytr, epochs=epochs, batch_size=32, verbose=0, shuffle=True)
    x_test, y_test = xte[:100].astype(np.float32), yte[:100]
    fl = model.predict(x_test, verbose=0)
    blob = convert(model, xtr[:100].astype(np.float32), mode)
    return _write(name, blob, x_test, y_test, fl, mode)


def _write(name, blob, x_test, y_test, fl, mode):
    path = os.path.join(OUT, f"{name}.tflite")
    with open(path, "wb") as f:
        f.write(blob)
    np.savez_compressed(os.path.join(OUT, f"{name}_data.npz"), x_test=x_test, y_test=y_test)
    if name == "bias_qdim3":  # TF's interpreter refuses the file; TFLite Micro runs it
        ops, metric = base.op_list(os.path.join(OUT, "mobilenet_v1.tflite")), "as mobilenet_v1"
    else:
        ops = base.op_list(path)
        q = base.tf_predict(path, x_test)
        metric = f"keras acc {np.mean(fl.argmax(1) == y_test):.2f}  tflite({mode}) acc " \
                 f"{np.mean(q.argmax(1) == y_test):.2f}"
    print(f"{name}: {len(blob)} bytes  {metric}\n    ops: {' '.join(ops)}", flush=True)
    return {"ops": ops, "bytes": len(blob), "metric": metric, "mode": mode}


def build_bias_qdim3():
    """mobilenet_v1.tflite with quantized_dimension=3 on every 1-D bias (person_detect pattern)."""
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as fb

    with open(os.path.join(OUT, "mobilenet_v1.tflite"), "rb") as f:
        m = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(bytearray(f.read()), 0))
    done = 0
    for t in m.subgraphs[0].tensors:
        if t.type == fb.TensorType.INT32 and len(t.shape) == 1 and t.quantization is not None \
                and t.quantization.scale is not None and len(t.quantization.scale) > 0:
            t.quantization.quantizedDimension = 3
            done += 1
    assert done > 0
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    with np.load(os.path.join(OUT, "mobilenet_v1_data.npz")) as z:
        x_test, y_test = z["x_test"], z["y_test"]
    return _write("bias_qdim3", bytes(b.Output()), x_test, y_test, None, "int8")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args()
    names = list(SPECS) + ["bias_qdim3"]
    if args.only:
        names = [n for n in names if n in args.only]
    manifest_path = os.path.join(OUT, "manifest_wild.json")
    manifest = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
    for n in names:
        manifest[n] = build_bias_qdim3() if n == "bias_qdim3" else build_one(n)
        assert os.path.getsize(os.path.join(OUT, f"{n}.tflite")) < 300_000, n
    with open(manifest_path, "w") as f:
        json.dump(dict(sorted(manifest.items())), f, indent=1)


if __name__ == "__main__":
    main()
