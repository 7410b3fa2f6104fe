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

SCHEMES = ("int8", "float32", "binary", "int16x8")


def import_model(model_path, input_shapes=None) -> Graph:
    """Model file -> optimized float graph (or an already-quantized graph for int8 TFLite).
    input_shapes: {input name: shape in the source layout} for dynamic input dimensions."""
    from converters import load_model
    if input_shapes and Path(model_path).suffix.lower() == ".tflite":
        note(f"{model_path}: input shapes apply to ONNX and Keras models; a .tflite file keeps its own")
        input_shapes = None
    graph = load_model(model_path, input_shapes)
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


def to_nhwc(graph: Graph, x: np.ndarray, idx: int = 0, dtype=np.float32) -> np.ndarray:
    """An input in the source layout -> NHWC (float32, or its own dtype with dtype=None)."""
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
    return np.ascontiguousarray(x, dtype)


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
    xs = calibration_inputs(graph, sources)
    obs = calibrate(graph, xs, progress=progress)
    from tinycnn.quant.binarize import BINARY_OPS, quantize_binary
    if any(n.op in BINARY_OPS for n in graph.nodes):  # mixed int8 / 1-bit graph
        return quantize_binary(graph, obs, config)
    return quantize_int8(graph, obs, config)


def calibration_inputs(graph: Graph, sources: list) -> list:
    """One NHWC float32 calibration array per graph input (checked: finite, non-empty, same N)."""
    xs = []
    for i, src in enumerate(sources):
        x = load_inputs(src, "calibration")
        check_finite_inputs(x, "calibration")
        if len(x) == 0:
            raise TinyCNNError("calibration data is empty")
        xs.append(to_nhwc(graph, x, i))
    if len({len(x) for x in xs}) != 1:
        raise TinyCNNError("calibration arrays of the inputs have different sample counts")
    return xs


def convert(model_path, calib=None, output=None, scheme="int8", calibration="minmax",
            per_channel=True, percentile=99.99, progress=False, graph=None, binary_layers=None,
            input_shapes=None) -> Path:
    """Convert a model file to a .tcnn blob and return the blob's path.
    calib: float calibration inputs in the model's own layout (array, .npy or .npz);
    required for int8 / int16x8 / binary. scheme: one of SCHEMES (int16x8: TFLite 16x8, as the
    explorer's '16x8' candidate). input_shapes: {input name: shape} fixing
    dynamic input dimensions (else they are taken from calib's shape)."""
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
    graph = graph if graph is not None else import_with_shapes(model_path, input_shapes, calib)
    if scheme == "int16x8" and graph.meta.get("scheme") not in (None, "float32"):
        raise TinyCNNError(f"{model_path} is already quantized ({graph.meta['scheme']}); --scheme int16x8 "
                           "needs a float model")
    if calib is not None and (graph.meta.get("scheme") not in (None, "float32") or scheme == "float32"):
        why = (f"the model is already quantized ({graph.meta['scheme']}) and keeps its own scales"
               if scheme != "float32" else "a float32 blob needs no calibration")
        note(f"{model_path}: calibration data ignored: {why}")
    if scheme == "binary":  # post-training binarization of chosen layers (docs/binary.md)
        from tinycnn.quant.binarize import binarize_layers
        graph = binarize_layers(graph, binary_layers)
    if scheme in ("int8", "binary", "int16x8") and graph.meta.get("scheme") in (None, "float32"):
        if calib is None:
            raise TinyCNNError("int8 conversion needs calibration data: pass calib= (API) or "
                               "--calib FILE.npz (CLI) with ~100-1000 representative inputs")
        if scheme == "int16x8":  # the explorer's own 16x8 candidate build (tinycnn/explorer/build.py)
            from tinycnn.explorer.build import build_graph
            from tinycnn.explorer.candidates import Candidate
            sources = list(calib) if isinstance(calib, (list, tuple)) else [calib]
            cand = Candidate("16x8", "int16x8", calibration, per_channel, percentile)
            graph = build_graph(graph, cand, calibration_inputs(graph, sources))
        else:
            graph = quantize_graph(graph, calib, QuantConfig(calibration, percentile, per_channel), progress)
    graph.meta["convert_seconds"] = round(time.perf_counter() - t0, 3)
    return write_verified(graph, output, model_path)


def import_with_shapes(model_path, input_shapes=None, calib=None) -> Graph:
    """import_model; dynamic input dimensions not in ``input_shapes`` are taken from the
    calibration data's shape when it is given (recorded in meta["fixed_input_shapes"])."""
    from converters.input_shapes import DynamicShapeError, shapes_from_calibration
    shapes, from_calib, arrays = dict(input_shapes or {}), set(), None
    while True:
        try:
            graph = import_model(model_path, shapes)
            break
        except DynamicShapeError as err:
            if calib is None:
                raise
            if arrays is None:
                sources = list(calib) if isinstance(calib, (list, tuple)) else [calib]
                arrays = [load_inputs(src, "calibration") for src in sources]
            new = {k: v for k, v in shapes_from_calibration(err, arrays).items() if k not in shapes}
            if not new:
                raise
            shapes.update(new)
            from_calib.update(new)
    for name, rec in graph.meta.get("fixed_input_shapes", {}).items():
        rec["from"] = "calibration data" if name in from_calib else "--input-shape / input_shapes"
        if name in from_calib:
            fixed = ", ".join("N" if d == -1 else str(d) for d in rec["shape"])
            note(f"input '{name}' has dynamic dimensions {rec['declared']}: fixed to [{fixed}] from the "
                 "calibration data (--input-shape chooses another)")
    return graph


def write_verified(graph: Graph, output: Path, model_path) -> Path:
    """Write the blob, read it back with the blob reader and validator, and only then rename it
    to ``output``: a blob that cannot be loaded is never produced. A failure here is a bug in
    tinycnn (the reader names the tensor or node), not in the model or the output path."""
    import os
    import tempfile

    from tinycnn.blob.reader import read_blob
    from tinycnn.errors import BlobError

    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=output.name + ".", suffix=".unverified", dir=output.parent)
    os.close(fd)
    try:
        try:
            write_blob(blob_graph(graph), tmp)
            read_blob(tmp)
        except (BlobError, ValueError, KeyError, TypeError) as exc:
            detail = str(exc).replace(tmp, "the converted blob")
            raise TinyCNNError(f"internal error in tinycnn (a bug: please report it with the model): "
                               f"converting {model_path} produced a blob that does not load: {detail}; "
                               f"nothing was written to {output}") from exc
        os.replace(tmp, output)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return output


def blob_graph(graph: Graph) -> Graph:
    """The graph as a blob stores it: the source model's file base name, never its local path
    (a blob is sent around; the metadata records the source file, not where it lived)."""
    src = graph.meta.get("source_path")
    if not src:
        return graph
    from dataclasses import replace
    return replace(graph, meta={**graph.meta, "source_path": Path(str(src)).name})


def note(message: str) -> None:
    """Something the user should know (printed by the CLI as 'tinycnn: note: ...')."""
    import warnings

    from tinycnn.errors import TinyCNNNote
    warnings.warn(message, TinyCNNNote, stacklevel=3)
