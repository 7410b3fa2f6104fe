"""The conversion pipeline: model file -> IR -> passes -> (quantize) -> blob."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from tinycnn.blob.writer import write_blob
from tinycnn.dataset import load_inputs
from tinycnn.errors import TinyCNNError
from tinycnn.ir import Graph
from tinycnn.passes import optimize
from tinycnn.quant.calibrate import METHODS, calibrate
from tinycnn.quant.int8 import QuantConfig, quantize_int8
from tinycnn.runtime import LAYOUT_TO_NHWC, NHWC_TO_LAYOUT

SCHEMES = ("int8", "float32", "binary")


def import_model(model_path) -> Graph:
    """Model file -> optimized float graph (or an already-quantized graph for int8 TFLite)."""
    from converters import load_model
    graph = load_model(model_path)
    check_finite_constants(graph, model_path)
    if graph.meta.get("scheme") in (None, "float32"):
        optimize(graph)
    return graph


def check_finite_constants(graph: Graph, model_path) -> None:
    """NaN/Inf weights make every downstream number meaningless: refuse them by name."""
    for node in graph.nodes:
        for name in node.inputs:
            t = graph.tensors.get(name) if name else None
            if t is not None and t.is_const and t.data.dtype.kind == "f" and not np.all(np.isfinite(t.data)):
                src = node.attrs.get("source_name", node.name)
                raise TinyCNNError(f"{model_path}: constant '{name}' of node '{src}' (op "
                                   f"{node.attrs.get('source_op', node.op.value)}) contains NaN or Inf")


def check_finite_inputs(x: np.ndarray, role: str) -> None:
    if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise TinyCNNError(f"{role} data contains {bad} NaN/Inf value(s)")


def to_nhwc(graph: Graph, x: np.ndarray, idx: int = 0) -> np.ndarray:
    layout = graph.meta.get("input_layouts", ["NHWC"])[idx]
    expected = graph.tensors[graph.inputs[idx]].shape
    if x.ndim != len(expected):
        want = _shape_in_layout(expected, layout)
        raise TinyCNNError(f"input {idx} has shape {tuple(x.shape)}; the model expects {want} "
                           f"({layout} layout, N = any batch size)")
    if layout in LAYOUT_TO_NHWC:
        x = x.transpose(LAYOUT_TO_NHWC[layout])
    if tuple(x.shape[1:]) != tuple(expected[1:]):
        raise TinyCNNError(f"input {idx} has shape {tuple(np.transpose(x, NHWC_TO_LAYOUT[layout]).shape) if layout in NHWC_TO_LAYOUT else tuple(x.shape)}; "
                           f"the model expects {_shape_in_layout(expected, layout)} ({layout} layout)")
    return np.ascontiguousarray(x, np.float32)


def _shape_in_layout(nhwc_shape, layout):
    dims = ["N"] + [int(d) for d in nhwc_shape[1:]]
    if layout in NHWC_TO_LAYOUT and len(dims) == 4:
        dims = [dims[i] for i in NHWC_TO_LAYOUT[layout]]
    return "[" + ", ".join(str(d) for d in dims) + "]"


def quantize_graph(graph: Graph, calib, config: QuantConfig, progress=False) -> Graph:
    """calib: one array/file for a single-input model, or a list with one per graph input."""
    sources = list(calib) if isinstance(calib, (list, tuple)) else [calib]
    if len(sources) != len(graph.inputs):
        raise TinyCNNError(f"the model has {len(graph.inputs)} inputs ({', '.join(graph.inputs)}): pass one "
                           f"calibration array per input, calib=[x0, x1, ...] (Python API)")
    xs = []
    for i, src in enumerate(sources):
        x = load_inputs(src, "calibration")
        check_finite_inputs(x, "calibration")
        if len(x) == 0:
            raise TinyCNNError("calibration data is empty")
        xs.append(to_nhwc(graph, x, i))
    if len({len(x) for x in xs}) != 1:
        raise TinyCNNError("calibration arrays of the inputs have different sample counts")
    obs = calibrate(graph, xs, progress=progress)
    from tinycnn.quant.binarize import BINARY_OPS, quantize_binary
    if any(n.op in BINARY_OPS for n in graph.nodes):  # mixed int8 / 1-bit graph
        return quantize_binary(graph, obs, config)
    return quantize_int8(graph, obs, config)


def convert(model_path, calib=None, output=None, scheme="int8", calibration="minmax",
            per_channel=True, percentile=99.99, progress=False, graph=None, binary_layers=None) -> Path:
    """Convert a model file to a .tcnn blob and return the blob's path.

    calib: float calibration inputs in the model's own layout (array, .npy or .npz);
    required for int8. scheme: 'int8' or 'float32'."""
    model_path = Path(model_path)
    if output is not None and str(output).strip() == "":
        raise TinyCNNError("empty output file name (-o \"\"); omit -o to write MODEL.tcnn")
    output = Path(output) if output else model_path.with_suffix(".tcnn")
    from tinycnn.fileio import check_output_path
    check_output_path(output, "blob", make_parents=True)  # refused before the work, not after
    if scheme not in SCHEMES:
        raise TinyCNNError(f"unknown scheme '{scheme}'; supported: {', '.join(SCHEMES)}")
    if calibration not in METHODS:
        raise TinyCNNError(f"unknown calibration '{calibration}'; supported: {', '.join(METHODS)}")
    t0 = time.perf_counter()
    graph = graph if graph is not None else import_model(model_path)
    if scheme == "binary":  # post-training binarization of chosen layers (docs/binary.md)
        from tinycnn.quant.binarize import binarize_layers
        graph = binarize_layers(graph, binary_layers)
    if scheme in ("int8", "binary") and graph.meta.get("scheme") in (None, "float32"):
        if calib is None:
            raise TinyCNNError("int8 conversion needs calibration data: pass calib= (API) or "
                               "--calib FILE.npz (CLI) with ~100-1000 representative inputs")
        graph = quantize_graph(graph, calib, QuantConfig(calibration, percentile, per_channel), progress)
    graph.meta["convert_seconds"] = round(time.perf_counter() - t0, 3)
    return write_blob(graph, output)
