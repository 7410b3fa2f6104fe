"""Dtypes at a model's edges: which integer arrays go in raw, how real values are quantized
(TFLite's QUANTIZE rounding), and what a raw run returns.

Rule: an integer array whose dtype is the model's raw input dtype goes in unchanged; a float
array is quantized with the input's scale and zero point; anything else is an error. The raw
dtype is the source model's own interface dtype for TFLite models (int8, uint8 for legacy
uint8 models, none for float-interface models: the TFLite interpreter only takes float there)
and the blob's input dtype (int8 / int16) for models tinycnn quantized itself.
"""
from __future__ import annotations

import numpy as np

from tinycnn.errors import TinyCNNError
from tinycnn.ir import DTYPES, Graph


def interface_dtypes(graph: Graph, kind: str) -> list:
    """The dtype each graph input/output has as the source model's interpreter sees it."""
    names = graph.inputs if kind == "inputs" else graph.outputs
    given = (graph.meta.get("interface_dtypes") or {}).get(kind)
    if given and len(given) == len(names):
        return list(given)
    blob = [graph.tensors[n].dtype for n in names]
    if graph.meta.get("source_format") != "tflite":
        return blob
    if graph.meta.get("tflite_float_io"):  # old blobs: which edge is float is not recorded
        return ["float32"] * len(names)
    if graph.meta.get("tflite_uint8"):
        return ["uint8" if d == "int8" else d for d in blob]
    return blob


def raw_dtype(graph: Graph, kind: str, idx: int):
    """Input: the integer dtype accepted raw, or None. Output: the dtype a raw run returns."""
    d = interface_dtypes(graph, kind)[idx]
    if kind == "inputs" and np.dtype(d).kind == "f":
        return None
    return d


def output_names(graph: Graph) -> list:
    names = graph.meta.get("output_names")
    return list(names) if names and len(names) == len(graph.outputs) else list(graph.outputs)


def quantize_tflite(x, q, dtype) -> np.ndarray:
    """float -> integer exactly as TFLite (Micro)'s QUANTIZE: the quotient x / scale computed in
    float32, rounded half away from zero, plus the zero point, clamped (checked against TFLM on
    ties, where a float64 quotient rounds differently)."""
    info = np.iinfo(dtype)
    scale = np.asarray(q.scale, np.float32)
    zp = np.asarray(q.zero_point, np.int64)
    x = np.asarray(x, np.float32)
    if q.axis is not None and scale.size > 1:
        shape = [1] * x.ndim
        shape[q.axis] = -1
        scale, zp = scale.reshape(shape), zp.reshape(shape)
    else:
        scale, zp = scale.reshape(-1)[0], zp.reshape(-1)[0]
    with np.errstate(over="ignore", invalid="ignore"):
        r = (x / scale).astype(np.float64)  # the float32 quotient, exactly
        r = np.sign(r) * np.floor(np.abs(r) + 0.5)  # TfLiteRound = std::round (half away from 0)
        r = np.clip(r, -2.0 ** 40, 2.0 ** 40)
    return np.clip(r + zp, info.min, info.max).astype(dtype)


def check_exact(graph: Graph, name: str, idx: int, x) -> None:
    """``run_quantized`` input: exactly the blob's input dtype and NHWC shape, nothing cast."""
    t = graph.tensors[name]
    want = np.dtype(DTYPES[t.dtype])
    if not isinstance(x, np.ndarray) or x.dtype != want:
        got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TinyCNNError(f"run_quantized: input {idx} ('{name}') has dtype {got}; it must be {want} "
                           "(the blob's input dtype; use Model.run for float or uint8 inputs)")
    if x.ndim != len(t.shape) or tuple(x.shape[1:]) != tuple(t.shape[1:]):
        want_shape = "(N, " + ", ".join(str(d) for d in t.shape[1:]) + ")"
        raise TinyCNNError(f"run_quantized: input {idx} ('{name}') has shape {tuple(x.shape)}; "
                           f"it must be {want_shape} (NHWC, N = batch)")


def raw_to_blob(graph: Graph, x: np.ndarray, idx: int) -> np.ndarray:
    """A raw interface array (NHWC) -> the blob's input integers (uint8 is shifted by -128)."""
    want = np.dtype(DTYPES[graph.tensors[graph.inputs[idx]].dtype])
    if x.dtype == np.uint8 and want == np.int8:
        return np.ascontiguousarray((x.astype(np.int16) - 128).astype(np.int8))
    if x.dtype != want:
        raise TinyCNNError(f"input {idx}: raw dtype {x.dtype} does not match the blob's {want}")
    return np.ascontiguousarray(x)


def blob_to_raw(model, y: np.ndarray, idx: int) -> np.ndarray:
    """The blob's output integers -> what the source interpreter returns for raw inputs."""
    want = raw_dtype(model.graph, "outputs", idx)
    if np.dtype(want).kind == "f":
        return model.dequantize_output(y, idx)
    if want == "uint8" and y.dtype == np.int8:
        return (y.astype(np.int16) + 128).astype(np.uint8)
    return y
