"""Generate the int8 / float / legacy-uint8 .tflite fixtures in this directory.

How to run (NOT in the project .venv: needs TensorFlow, lives in a side venv):

    python3 -m venv /work/venvs/tf
    /work/venvs/tf/bin/pip install tensorflow-cpu==2.21.0 tf_keras==2.21.0 scikit-learn
    /work/venvs/tf/bin/python tests/data/tflite/make_tflite_fixtures.py [--only NAME ...]

Versions used for the committed files: Python 3.11.7, tensorflow-cpu 2.21.0,
tf_keras 2.21.0 (Keras 2 API; TF_USE_LEGACY_KERAS=1 is set below so
TFLiteConverter.from_keras_model behaves as in TF 2.15), numpy 2.4.6,
scikit-learn 1.9.1.  Everything is seeded (seed 0); TF training on CPU is
deterministic enough that re-running gives the same ops and near-identical
weights, but not necessarily byte-identical files.

For each model NAME it writes NAME.tflite and NAME_data.npz with x_test
(float32, 100 test samples, model input layout) and y_test (int64 labels).
Data: sklearn digits (x/16, float32), upsampled 8x8 -> 16x16 NHWC by pixel
repetition where the model takes 16x16x1; ds_cnn_kws uses synthetic
class-dependent (49, 10, 1) "spectrograms".
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TF 2.21 CPU + oneDNN crashes (double free / segfault) while training the
# residual models here; the plain Eigen kernels are fine.
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

L = keras.layers
OUT = os.path.dirname(os.path.abspath(__file__))
SEED = 0

REQUIRED_OPS = [
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D",
    "MEAN", "ADD", "SUB", "MUL", "CONCATENATION", "RESHAPE", "SQUEEZE", "PAD", "PADV2",
    "SOFTMAX", "LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH",
    "QUANTIZE", "DEQUANTIZE", "TRANSPOSE", "RESIZE_NEAREST_NEIGHBOR",
]


def seed_all():
    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    # grappler's remapper logged errors on these graphs; it only fuses kernels.
    tf.config.optimizer.set_experimental_options({"remapping": False})


# ----------------------------------------------------------------------------- data
def digits():
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)  # (N, 8, 8)
    y = d.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=SEED, stratify=y)
    return xtr, xte, ytr, yte


def up16(x):
    """(N, 8, 8) -> (N, 16, 16, 1) by 2x2 pixel repetition."""
    return np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)[..., None].astype(np.float32)


def kws_data(n_per_class=150, n_classes=6):
    """Synthetic keyword-spotting MFCC-like patches, shape (49, 10, 1)."""
    rng = np.random.default_rng(SEED)
    t = np.arange(49)[:, None]
    f = np.arange(10)[None, :]
    xs, ys = [], []
    for c in range(n_classes):
        freq = 0.08 + 0.05 * c
        band = (c * 7) % 10
        for _ in range(n_per_class):
            shift = rng.uniform(0, 2 * np.pi)
            amp = rng.uniform(0.7, 1.3)
            pat = amp * np.sin(2 * np.pi * freq * t + shift) * np.exp(-0.5 * ((f - band) / 1.5) ** 2)
            pat = pat + 0.3 * rng.standard_normal((49, 10))
            xs.append(pat)
            ys.append(c)
    x = np.asarray(xs, np.float32)[..., None]
    y = np.asarray(ys, np.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=SEED, stratify=y)
    return xtr, xte, ytr, yte


# ----------------------------------------------------------------------------- models
from tflite_fixture_models import (m_autoencoder, m_ds_cnn_kws, m_inception,  # noqa: E402
                                   m_misc_ops, m_mobilenet_v1, m_mobilenet_v2, m_mobilenet_v3,
                                   m_resnet, m_small_cnn)


SPECS = {
    "mobilenet_v1": (m_mobilenet_v1, "digits16", 15, "int8"),
    "mobilenet_v2": (m_mobilenet_v2, "digits16", 15, "int8"),
    "mobilenet_v3": (m_mobilenet_v3, "digits16", 15, "int8"),
    "resnet": (m_resnet, "digits16", 10, "int8"),
    "inception": (m_inception, "digits16", 10, "int8"),
    "ds_cnn_kws": (m_ds_cnn_kws, "kws", 10, "int8"),
    "autoencoder": (m_autoencoder, "digits64", 30, "int8"),
    "misc_ops": (m_misc_ops, "digits16", 15, "int8"),
    "float_io": (m_small_cnn, "digits16", 10, "float_io"),
    "float32": (m_small_cnn, "digits16", 10, "float32"),
}


def dataset(kind):
    if kind == "kws":
        return kws_data()
    xtr, xte, ytr, yte = digits()
    if kind == "digits16":
        return up16(xtr), up16(xte), ytr, yte
    return xtr.reshape(-1, 64), xte.reshape(-1, 64), ytr, yte


# ----------------------------------------------------------------------------- conversion
def convert(model, rep, mode):
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode in ("int8", "float_io"):
        conv.optimizations = [tf.lite.Optimize.DEFAULT]

        def rep_ds():
            for k in range(len(rep)):
                yield [rep[k:k + 1]]

        conv.representative_dataset = rep_ds
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if mode == "int8":
            conv.inference_input_type = tf.int8
            conv.inference_output_type = tf.int8
    return conv.convert()


def patch_reshape_to_squeeze(blob):
    """The converter always lowers tf.squeeze with static shapes to RESHAPE.
    Rewrite the RESHAPE whose output drops only size-1 axes into a real SQUEEZE
    operator (one input, SqueezeOptions.squeezeDims) so that op is covered."""
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as fb

    m = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(bytearray(blob), 0))
    sg = m.subgraphs[0]
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in m.operatorCodes]
    done = 0
    for op in sg.operators:
        if codes[op.opcodeIndex] != fb.BuiltinOperator.RESHAPE:
            continue
        ish = list(sg.tensors[op.inputs[0]].shape)
        osh = list(sg.tensors[op.outputs[0]].shape)
        dims = [k for k, d in enumerate(ish) if d == 1 and k > 0]
        if [d for k, d in enumerate(ish) if k not in dims] != osh or not dims:
            continue
        if fb.BuiltinOperator.SQUEEZE not in codes:
            oc = fb.OperatorCodeT()
            oc.builtinCode = fb.BuiltinOperator.SQUEEZE
            oc.deprecatedBuiltinCode = fb.BuiltinOperator.SQUEEZE
            oc.version = 1
            m.operatorCodes.append(oc)
            codes.append(fb.BuiltinOperator.SQUEEZE)
        op.opcodeIndex = codes.index(fb.BuiltinOperator.SQUEEZE)
        op.inputs = [op.inputs[0]]
        opt = fb.SqueezeOptionsT()
        opt.squeezeDims = dims
        op.builtinOptionsType = fb.BuiltinOptions.SqueezeOptions
        op.builtinOptions = opt
        done += 1
    assert done == 1, done
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def op_list(path):
    it = tf.lite.Interpreter(model_path=path)
    return sorted({d["op_name"] for d in it._get_ops_details()})


def tf_predict(path, x):
    """Run with TF's interpreter one sample at a time (quantizing int8 io)."""
    it = tf.lite.Interpreter(model_path=path)
    it.allocate_tensors()
    ind, outd = it.get_input_details()[0], it.get_output_details()[0]
    ys = []
    for k in range(len(x)):
        v = x[k:k + 1]
        if ind["dtype"] != np.float32:
            s, z = ind["quantization"]
            info = np.iinfo(ind["dtype"])
            v = np.clip(np.round(v / s) + z, info.min, info.max).astype(ind["dtype"])
        it.set_tensor(ind["index"], v)
        it.invoke()
        o = it.get_tensor(outd["index"]).astype(np.float32)
        if outd["dtype"] != np.float32:
            s, z = outd["quantization"]
            o = (o - z) * s
        ys.append(o[0])
    return np.asarray(ys)


def build_one(name):
    builder, kind, epochs, mode = SPECS[name]
    seed_all()
    xtr, xte, ytr, yte = dataset(kind)
    model = builder()
    if name == "autoencoder":
        model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy")
        model.fit(xtr, xtr, epochs=epochs, batch_size=32, verbose=0, shuffle=True)
    else:
        model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(xtr, ytr, epochs=epochs, batch_size=32, verbose=0, shuffle=True)
    x_test, y_test = xte[:100].astype(np.float32), yte[:100]
    fl = model.predict(x_test, verbose=0)
    blob = convert(model, xtr[:100].astype(np.float32), mode)
    if name == "misc_ops":
        blob = patch_reshape_to_squeeze(blob)
    path = os.path.join(OUT, f"{name}.tflite")
    with open(path, "wb") as f:
        f.write(blob)
    np.savez_compressed(os.path.join(OUT, f"{name}_data.npz"), x_test=x_test, y_test=y_test)
    ops = op_list(path)
    q = tf_predict(path, x_test)
    if name == "autoencoder":
        metric = f"keras mse {np.mean((fl - x_test) ** 2):.4f}  tflite mse {np.mean((q - x_test) ** 2):.4f}"
    else:
        metric = (f"keras acc {np.mean(fl.argmax(1) == y_test):.2f}  "
                  f"tflite({mode}) acc {np.mean(q.argmax(1) == y_test):.2f}")
    print(f"{name}: {len(blob)} bytes  {metric}\n    ops: {' '.join(ops)}", flush=True)
    return {"ops": ops, "bytes": len(blob), "metric": metric, "mode": mode}


# ----------------------------------------------------------------------------- legacy uint8
def build_legacy_uint8():
    """TF1-style quantization-aware graph with fake-quant nodes converted with
    inference_type=tf.uint8 (legacy asymmetric uint8 model)."""
    seed_all()
    xtr, xte, ytr, yte = dataset("digits16")
    fm = m_small_cnn()
    fm.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    fm.fit(xtr, ytr, epochs=10, batch_size=32, verbose=0)
    (w1, b1), (w2, b2), (w3, b3) = [l.get_weights() for l in fm.layers if l.get_weights()]
    # activation ranges from the float model on train data
    feats = keras.Model(fm.input, [fm.layers[1].output, fm.layers[2].output, fm.layers[4].output])
    a1, a2, lg = feats.predict(xtr, verbose=0)
    # logits (pre-softmax) range: recompute from a2
    logits = a2.reshape(len(a2), -1) @ w3 + b3

    def rng(v):
        return float(min(v.min(), 0.0)), float(max(v.max(), 1e-3))

    def wfq(w):
        return tf.quantization.fake_quant_with_min_max_args(tf.constant(w), min=float(min(w.min(), 0)),
                                                            max=float(max(w.max(), 0)), num_bits=8)

    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, 16, 16, 1], name="input")
        h = tf.quantization.fake_quant_with_min_max_args(x, min=0.0, max=1.0)
        h = tf.nn.relu(tf.nn.conv2d(h, wfq(w1), 2, "SAME") + b1)
        h = tf.quantization.fake_quant_with_min_max_args(h, *rng(a1))
        h = tf.nn.relu(tf.nn.conv2d(h, wfq(w2), 2, "SAME") + b2)
        h = tf.quantization.fake_quant_with_min_max_args(h, *rng(a2))
        h = tf.reshape(h, [1, -1])
        h = tf.matmul(h, wfq(w3)) + b3
        h = tf.quantization.fake_quant_with_min_max_args(h, *rng(logits))
        h = tf.nn.softmax(h)
        out = tf.quantization.fake_quant_with_min_max_args(h, min=0.0, max=255.0 / 256.0, name="output")
        with tf.compat.v1.Session(graph=g) as sess:
            conv = tf.compat.v1.lite.TFLiteConverter.from_session(sess, [x], [out])
            conv.inference_type = tf.uint8
            conv.inference_input_type = tf.uint8
            conv.quantized_input_stats = {"input": (0.0, 255.0)}  # real = (q - mean) / std
            blob = conv.convert()
    name = "legacy_uint8"
    path = os.path.join(OUT, f"{name}.tflite")
    with open(path, "wb") as f:
        f.write(blob)
    x_test, y_test = xte[:100].astype(np.float32), yte[:100]
    np.savez_compressed(os.path.join(OUT, f"{name}_data.npz"), x_test=x_test, y_test=y_test)
    ops = op_list(path)
    q = tf_predict(path, x_test)
    fl = fm.predict(x_test, verbose=0)
    metric = (f"keras acc {np.mean(fl.argmax(1) == y_test):.2f}  "
              f"tflite(uint8) acc {np.mean(q.argmax(1) == y_test):.2f}")
    print(f"{name}: {len(blob)} bytes  {metric}\n    ops: {' '.join(ops)}", flush=True)
    return {"ops": ops, "bytes": len(blob), "metric": metric, "mode": "uint8"}


# ----------------------------------------------------------------------------- README
DESCRIPTIONS = {
    "mobilenet_v1": "digits 16x16x1; conv/BN/ReLU6 stem, depthwise-separable blocks, GAP, dense softmax",
    "mobilenet_v2": "digits 16x16x1; inverted residual blocks with residual ADD, linear bottlenecks",
    "mobilenet_v3": "digits 16x16x1; hard-swish, squeeze-excite (MEAN, 1x1 convs, hard sigmoid = "
                    "conv+RELU6-fused then MUL by 1/6, MUL gate), residual ADD",
    "resnet": "digits 16x16x1; basic residual blocks, 1x1 stride-2 projections, ADD with fused ReLU",
    "inception": "digits 16x16x1; inception blocks (1x1/3x3/5x5/maxpool branches), CONCATENATION, "
                 "MAX_POOL_2D, AVERAGE_POOL_2D, FLATTEN (RESHAPE)",
    "ds_cnn_kws": "synthetic keyword-spotting (49,10,1), 6 classes; 10x4 stride-2 conv, 3 DS blocks, "
                  "full-size AVERAGE_POOL_2D",
    "autoencoder": "flattened digits (64,); FC 64-32-8-32-64, sigmoid (LOGISTIC) output; y_test are labels, "
                   "reconstruction target is x_test",
    "misc_ops": "digits 16x16x1; SUB, PAD (asymmetric), PADV2 (constant 0.75), LEAKY_RELU, TANH, LOGISTIC, "
                "RESIZE_NEAREST_NEIGHBOR, standalone RELU/RELU6, TRANSPOSE, SQUEEZE (a converter RESHAPE "
                "patched into SQUEEZE), SOFTMAX, int8->int8 requantizing QUANTIZE",
    "float_io": "digits 16x16x1; int8 internals with float32 input/output: QUANTIZE in, DEQUANTIZE out",
    "float32": "digits 16x16x1; plain float32 TFLite (no quantization), same architecture as float_io",
    "legacy_uint8": "digits 16x16x1; TF1 fake-quant graph converted with inference_type=tf.uint8 "
                    "(legacy asymmetric uint8, per-tensor weights); input uint8 scale 1/255 zp 0",
}


def write_readme(manifest):
    lines = [
        "# TFLite fixtures",
        "",
        "Generated by `make_tflite_fixtures.py` (TensorFlow 2.21 converter, see its header for how to run).",
        "Each `NAME.tflite` has `NAME_data.npz` with `x_test` (float32, 100 samples, model input layout)",
        "and `y_test` (int64 labels). `manifest.json` lists ops, sizes and accuracies.",
        "`check_oracles.py` (project .venv) cross-checks TFLM vs tflite-runtime BUILTIN_REF on all of them.",
        "",
        "| fixture | io | ops | accuracy | what |",
        "| --- | --- | --- | --- | --- |",
    ]
    for n, v in sorted(manifest.items()):
        io = {"int8": "int8", "float_io": "float32", "float32": "float32", "uint8": "uint8"}[v["mode"]]
        lines.append(f"| `{n}` | {io} | {' '.join(v['ops'])} | {v['metric']} | {DESCRIPTIONS.get(n, '')} |")
    lines += [
        "",
        "Notes:",
        "- Conv/depthwise weights are per-channel int8; TF 2.21 also quantizes FULLY_CONNECTED weights per-channel",
        "  (FC op version 4). The int8 digit models' input is scale 1/255, zero point -128 (ds_cnn_kws differs).",
        "- `check_oracles.py` result: TFLM == tflite-runtime 2.14 BUILTIN_REF bit for bit on all 100 samples and on",
        "  every intermediate tensor for all fixtures except: `misc_ops` (56/100 samples identical) because its",
        "  standalone RELU6 has output scale != input scale and TFLM's RELU6 only clamps in the input's quantized",
        "  domain (no requantization) while TFLite requantizes; and `legacy_uint8`, which TFLM refuses",
        "  (\"Hybrid models are not supported\", CONV_2D prepare fails). TFLM is the reference that counts.",
        "",
    ]
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write("\n".join(lines))


# ----------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--readme-only", action="store_true", help="rewrite README.md from manifest.json")
    args = ap.parse_args()
    if args.readme_only:
        with open(os.path.join(OUT, "manifest.json")) as f:
            write_readme(json.load(f))
        return
    names = list(SPECS) + ["legacy_uint8"]
    if args.only:
        names = [n for n in names if n in args.only]
    manifest_path = os.path.join(OUT, "manifest.json")
    manifest = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
    for n in names:
        if n == "legacy_uint8":
            try:
                manifest[n] = build_legacy_uint8()
            except Exception as exc:  # report, keep the others
                print(f"legacy_uint8: FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        else:
            manifest[n] = build_one(n)
    with open(manifest_path, "w") as f:
        json.dump(dict(sorted(manifest.items())), f, indent=1)
    seen = set()
    for v in manifest.values():
        seen.update(v["ops"])
    write_readme(manifest)
    missing = [o for o in REQUIRED_OPS if o not in seen]
    print("ops covered:", " ".join(sorted(seen)))
    print("MISSING required ops:", missing if missing else "none")
    for n, v in manifest.items():
        big = os.path.getsize(os.path.join(OUT, f"{n}.tflite")) > 300_000
        if big:
            print(f"WARNING {n}.tflite > 300 KB")


if __name__ == "__main__":
    main()
