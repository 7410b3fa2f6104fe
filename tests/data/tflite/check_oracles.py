"""Cross-check the two reference oracles on every fixture in this directory.

Run with the project venv (needs tflite-micro, and the tflite-runtime side venv
.venv-tflite-ref or $TINYCNN_TFLITE_REF_PYTHON):

    .venv/bin/python tests/data/tflite/check_oracles.py

For each NAME.tflite: quantize x_test with the model's input parameters, run
all 100 samples through TFLM (tinycnn.oracles.tflm) and tflite-runtime 2.14
BUILTIN_REF (tinycnn.oracles.tflite_ref), and compare outputs bit for bit; then
compare every intermediate tensor for sample 0.  Prints accuracy too.
"""
from __future__ import annotations

import glob
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..", "..", "..")))

from tinycnn.oracles import tflite_ref, tflm  # noqa: E402


def quantize_input(x, det):
    dt = np.dtype(det["dtype"])
    if dt.kind == "f":
        return x.astype(dt)
    s = float(det["quantization_parameters"]["scales"][0])
    z = int(det["quantization_parameters"]["zero_points"][0])
    info = np.iinfo(dt)
    return np.clip(np.round(x / s) + z, info.min, info.max).astype(dt)


def _producer(path, idx):
    from tflite_micro.python.tflite_micro import runtime
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb
    m = runtime.convert_bytearray_to_object(bytearray(open(path, "rb").read()))
    names = {v: k for k, v in fb.BuiltinOperator.__dict__.items() if not k.startswith("_")}
    for op in m.subgraphs[0].operators:
        if idx in list(op.outputs):
            c = m.operatorCodes[op.opcodeIndex]
            return names.get(max(c.builtinCode, c.deprecatedBuiltinCode), "?")
    return "?"


def main():
    ok_all = True
    for path in sorted(glob.glob(os.path.join(HERE, "*.tflite"))):
        name = os.path.basename(path)[:-7]
        d = np.load(os.path.join(HERE, f"{name}_data.npz"))
        x, y = d["x_test"], d["y_test"]
        ref_err = tflm_err = None
        try:
            det = tflm.input_details(path)[0]
        except Exception as exc:  # noqa: BLE001
            det = None
            tflm_err = f"{type(exc).__name__}: {exc}".splitlines()[0]
        ref_out = None
        try:
            if det is None:
                # fall back to the flatbuffer's quantization via tflite_ref worker
                from tflite_micro.python.tflite_micro import runtime
                m = runtime.convert_bytearray_to_object(bytearray(open(path, "rb").read()))
                t = m.subgraphs[0].tensors[m.subgraphs[0].inputs[0]]
                dtype = {3: np.uint8, 9: np.int8, 0: np.float32}[int(t.type)]
                det = {"dtype": dtype, "quantization_parameters": {
                    "scales": t.quantization.scale, "zeroPoints": None,
                    "zero_points": t.quantization.zeroPoint}}
            xq = quantize_input(x, det)
            ref_out = tflite_ref.run(path, [xq])
        except Exception as exc:  # noqa: BLE001
            ref_err = f"{type(exc).__name__}: {exc}".splitlines()[-1]
        tflm_out = None
        if tflm_err is None:
            try:
                tflm_out = tflm.run(path, [xq])
            except Exception as exc:  # noqa: BLE001
                tflm_err = f"{type(exc).__name__}: {exc}".splitlines()[0]
        line = f"{name:14s} in={np.dtype(det['dtype']).name if det else '?':8s}"
        if ref_out is not None and ref_out[0].reshape(len(x), -1).shape[1] <= 20:
            acc = np.mean(ref_out[0].reshape(len(x), -1).argmax(1) == y)
            line += f" ref_acc={acc:.2f}"
        if tflm_out is not None and ref_out is not None:
            same = [np.array_equal(a, b) for a, b in zip(tflm_out, ref_out)]
            nsame = int(np.sum(np.all(tflm_out[0].reshape(len(x), -1) == ref_out[0].reshape(len(x), -1), axis=1)))
            line += f" outputs_identical={all(same)} ({nsame}/{len(x)} samples)"
            if not all(same):
                ok_all = False
                diff = np.abs(tflm_out[0].astype(np.int64) - ref_out[0].astype(np.int64))
                line += f" max|diff|={diff.max()}"
            ia = tflm.run_with_intermediates(path, xq[:1])
            ib = tflite_ref.run_with_intermediates(path, xq[:1])
            common = sorted(set(ia) & set(ib))
            bad = [k for k in common if ia[k].shape == ib[k].shape and not np.array_equal(ia[k], ib[k])]
            line += f" intermediates: {len(common)} compared, {len(bad)} differ"
            if bad:
                ok_all = False
                line += f" {bad[:8]}; first differing tensor produced by {_producer(path, bad[0])}"
        if tflm_err:
            line += f" TFLM refused: {tflm_err}"
        if ref_err:
            line += f" REF failed: {ref_err}"
            ok_all = False
        print(line, flush=True)
    print("ALL IDENTICAL" if ok_all else "DIFFERENCES FOUND (known: misc_ops RELU6 whose output scale "
          "differs from its input scale -- TFLM clamps in the input domain without requantizing, "
          "TFLite requantizes; legacy_uint8 is refused by TFLM)")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
