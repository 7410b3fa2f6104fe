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
from tinycnn.runtime import LAYOUT_TO_NHWC

SCHEMES = ("int8", "float32", "binary")


def import_model(model_path) -> Graph:
    """Model file -> optimized float graph (or an already-quantized graph for int8 TFLite)."""
    from converters import load_model
    graph = load_model(model_path)
    if graph.meta.get("scheme") in (None, "float32"):
        optimize(graph)
    return graph


def to_nhwc(graph: Graph, x: np.ndarray, idx: int = 0) -> np.ndarray:
    layout = graph.meta.get("input_layouts", ["NHWC"])[idx]
    expected = graph.tensors[graph.inputs[idx]].shape
    if x.ndim != len(expected):
        raise TinyCNNError(f"input {idx} has shape {x.shape}; the model expects rank {len(expected)} "
                           f"({layout} layout)")
    if layout in LAYOUT_TO_NHWC:
        x = x.transpose(LAYOUT_TO_NHWC[layout])
    if tuple(x.shape[1:]) != tuple(expected[1:]):
        raise TinyCNNError(f"input {idx} has shape {x.shape[1:]} after layout conversion; "
                           f"the model expects {expected[1:]} (NHWC)")
    return np.ascontiguousarray(x, np.float32)


def quantize_graph(graph: Graph, calib, config: QuantConfig, progress=False) -> Graph:
    x = load_inputs(calib, "calibration")
    obs = calibrate(graph, [to_nhwc(graph, x)], progress=progress)
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
    output = Path(output) if output else model_path.with_suffix(".tcnn")
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
