"""`tinycnn eval`: a blob against its source model run in the source model's own framework, so
an import bug cannot agree with itself. ONNX: ONNX Runtime. TFLite: the TFLite Micro
interpreter (tflite-runtime's reference kernels for models TFLM refuses, e.g. legacy uint8).
Keras: no Keras interpreter is installed here, so the reference is tinycnn's NumPy float
reference of the imported graph, and the output says so.

Every output of a multi-output model is compared. Quantized TFLite sources are compared on
their native integers (both sides get the same raw input; differences in LSB); float
references with SQNR / cosine / RMSE. Top-1 metrics are given only for classifier outputs."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tinycnn.errors import TinyCNNError
from tinycnn.ir import Graph, Op

_PASS_THROUGH = (Op.RESHAPE, Op.REQUANTIZE)  # walked back through to find an output's layer


# ---------------- the reference ----------------

def tflite_interface(model_path, kind="inputs") -> list:
    """[(dtype, scale, zero_point)] of a .tflite model's inputs/outputs, read from the file."""
    from converters.tflite_format import read_tflite
    m = read_tflite(model_path)
    out = []
    for i in (m.inputs if kind == "inputs" else m.outputs):
        t = m.tensors[i]
        q = (float(t.scale.reshape(-1)[0]), int(t.zero_point.reshape(-1)[0])) if t.quantized else (None, None)
        out.append((np.dtype(t.dtype), *q))
    return out


def _tflite_inputs(model_path, xs: list) -> list:
    """Inputs in the interpreter's own dtypes: raw integers unchanged, floats quantized as
    TFLite's QUANTIZE does; anything else refused (tinycnn/edges.py)."""
    from tinycnn.edges import quantize_tflite
    from tinycnn.ir import QuantParams
    out = []
    for k, (x, (dtype, scale, zp)) in enumerate(zip(xs, tflite_interface(model_path))):
        x = np.asarray(x)
        if x.dtype == dtype:
            out.append(x)
        elif x.dtype.kind == "f" and dtype.kind in "iu" and scale is not None:
            q = QuantParams(np.array([scale], np.float32), np.array([zp], np.int32), None)
            out.append(quantize_tflite(x, q, dtype))
        elif x.dtype.kind == "f" and dtype.kind == "f":
            out.append(x.astype(dtype))
        else:
            raise TinyCNNError(f"{model_path}: input {k} data has dtype {x.dtype}; the model takes {dtype}"
                               + (" (or float, quantized at the edge)" if dtype.kind in "iu" else ""))
    return out


def run_tflite(model_path, xs: list) -> tuple[list, str]:
    from tinycnn.oracles import tflite_ref, tflm
    try:
        with _quiet_native_output():  # TFLM prints its refusals (legacy uint8) from C++
            return tflm.run(model_path, xs), "TFLite Micro interpreter"
    except (RuntimeError, ValueError) as exc:
        if not tflite_ref.available():
            raise TinyCNNError(f"{model_path}: TFLite Micro cannot run this model ({exc}) and no "
                               f"tflite-runtime reference python was found ({tflite_ref.INSTALL_HINT})") from exc
        return tflite_ref.run(model_path, xs), "tflite-runtime reference kernels"


class _quiet_native_output:
    """Send what native code writes to fds 1 and 2 to /dev/null for the duration."""

    def __enter__(self):
        import os
        import sys
        try:
            sys.stdout.flush()
            sys.stderr.flush()
            self.saved = [os.dup(1), os.dup(2)]
        except (OSError, ValueError, AttributeError):
            self.saved = None
            return self
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)
        return self

    def __exit__(self, *exc):
        import ctypes
        import os
        if self.saved is None:
            return False
        try:
            ctypes.CDLL(None).fflush(None)  # C stdio buffers go to /dev/null, not to the user later
        except (OSError, AttributeError):
            pass
        for fd, saved in zip((1, 2), self.saved):
            os.dup2(saved, fd)
            os.close(saved)
        return False


def reference_outputs(reference_path, xs: list, input_shapes=None) -> tuple[list, str]:
    """Every output of the source model on ``xs`` (one array per input, source layout), and
    who computed them."""
    path = Path(reference_path)
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        import onnxruntime as ort
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feed = {i.name: np.asarray(x, np.float32) for i, x in zip(sess.get_inputs(), xs)}
        return sess.run(None, feed), "ONNX Runtime"
    if suffix == ".tflite":
        return run_tflite(path, _tflite_inputs(path, xs))
    from tinycnn.convert import import_model
    from tinycnn.runtime import Model
    graph = import_model(path, input_shapes)
    ys = Model(graph).run(*[np.asarray(x, np.float32) for x in xs])
    return (ys if isinstance(ys, list) else [ys]), \
        "tinycnn's NumPy float reference (no Keras interpreter here: checks quantization, not the import)"


# ---------------- metrics ----------------

def is_classifier(graph: Graph, idx: int) -> bool:
    """A (N, C > 1) output produced by SOFTMAX or a FULLY_CONNECTED layer (logits): top-1
    metrics mean something there, not on an autoencoder's reconstruction or a feature map."""
    name = graph.outputs[idx]
    shape = graph.tensors[name].shape
    if len(shape) != 2 or shape[1] <= 1:
        return False
    producer = {n.outputs[0]: n for n in graph.nodes}
    node = producer.get(name)
    while node is not None and node.op in _PASS_THROUGH:
        node = producer.get(node.inputs[0])
    return node is not None and node.op in (Op.SOFTMAX, Op.FULLY_CONNECTED)


def integer_metrics(reference, test) -> dict:
    r = np.asarray(reference).astype(np.int64)
    t = np.asarray(test).astype(np.int64)
    if r.shape != t.shape:
        raise TinyCNNError(f"output shapes differ: reference {r.shape}, tinycnn {t.shape}")
    d = np.abs(r - t)
    return {"n": int(len(r)), "kind": "integer", "identical_fraction": float(np.mean(d == 0)),
            "identical_samples": int(np.sum(d.reshape(len(d), -1).max(1) == 0)),
            "max_abs_diff_lsb": int(d.max(initial=0)), "mean_abs_diff_lsb": float(d.mean())}


def output_metrics(reference, test, labels, classifier: bool, integer: bool) -> dict:
    from tinycnn.report import compare_outputs
    reference, test = np.asarray(reference), np.asarray(test)
    if reference.shape != test.shape:
        raise TinyCNNError(f"output shapes differ: reference {reference.shape}, tinycnn {test.shape}")
    m = integer_metrics(reference, test) if integer else dict(compare_outputs(reference, test), kind="float")
    for k in ("top1_agreement", "accuracy_reference", "accuracy_test"):
        m.pop(k, None)
    if classifier:
        r, t = reference.reshape(len(reference), -1), test.reshape(len(test), -1)
        m["top1_agreement"] = float(np.mean(r.argmax(1) == t.argmax(1)))
        if labels is not None:
            m["accuracy_reference"] = float(np.mean(r.argmax(1) == labels))
            m["accuracy_test"] = float(np.mean(t.argmax(1) == labels))
    return m


# ---------------- evaluate ----------------

def evaluate(blob_path, reference, data, per_layer=False, batch_size=256) -> dict:
    """Run the blob and the source model on the same data; metrics for every output. The
    first output's metrics are also at the top level (as for single-output models)."""
    from tinycnn.dataset import load_labeled
    from tinycnn.runtime import load
    x, y = load_labeled(data, native=True)
    model = load(blob_path)
    shapes = {k: [1] + list(v["shape"][1:]) for k, v in model.graph.meta.get("fixed_input_shapes", {}).items()}
    ref, runner = reference_outputs(reference, [x], shapes)
    native = Path(reference).suffix.lower() == ".tflite" and any(np.asarray(r).dtype.kind in "iu" for r in ref)
    if native:  # same raw integers into both: compare what the interpreter itself returns
        test = model.run(_tflite_inputs(reference, [x])[0], batch_size=batch_size)
    elif x.dtype.kind != "f":
        raise TinyCNNError(f"{data}: the data has dtype {x.dtype}; the reference {Path(reference).name} "
                           "takes float inputs: store real values as float32 (raw integers are for "
                           "quantized .tflite references)")
    else:
        test = model.run(x, batch_size=batch_size)
    test = test if isinstance(test, list) else [test]
    if len(test) != len(ref):
        raise TinyCNNError(f"the blob has {len(test)} outputs, the reference {reference} {len(ref)}")
    names = model.output_names
    labels_for = next((k for k in range(len(test)) if is_classifier(model.graph, k)), None)
    outputs = []
    for k, (r, t) in enumerate(zip(ref, test)):
        integer = np.asarray(r).dtype.kind in "iu"
        m = output_metrics(r, t, y if k == labels_for else None, is_classifier(model.graph, k), integer)
        outputs.append(dict(m, name=names[k]))
    result = dict(outputs[0])
    result.update(outputs=outputs, reference_runner=runner, native_integers=native, blob=str(blob_path),
                  reference=str(reference), data=str(data))
    if per_layer and model.quantized and not native:
        from tinycnn.convert import import_model, to_nhwc
        from tinycnn.report import per_layer_sqnr
        fg = import_model(reference, shapes)
        result["per_layer"] = per_layer_sqnr(fg, model.graph, to_nhwc(fg, x[:min(len(x), 64)].astype(np.float32)))
    elif per_layer and native:
        result["per_layer_note"] = ("per-layer SQNR needs a float source model; for a quantized .tflite, "
                                    "`tinycnn compare MODEL.tflite -i DATA` diffs every layer against TFLite Micro")
    return result
