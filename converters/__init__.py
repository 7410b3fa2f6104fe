"""Model file -> tinycnn IR. Each importer knows one file format and nothing about kernels."""
from __future__ import annotations

from pathlib import Path

from tinycnn.errors import TinyCNNError

FORMATS = {".onnx": "onnx", ".keras": "keras", ".h5": "keras", ".hdf5": "keras", ".tflite": "tflite"}


def load_model(path, input_shapes=None):
    """Import a model file into a float (or, for int8 TFLite, already quantized) Graph.
    input_shapes: {input name: shape} fixing dynamic input dimensions (ONNX, Keras)."""
    path = Path(path)
    if not path.exists():
        raise TinyCNNError(f"{path}: no such file")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt == "onnx":
        from converters.onnx import load_onnx
        return load_onnx(path, input_shapes)
    if fmt == "keras":
        from converters.keras import load_keras
        return load_keras(path, input_shapes=input_shapes)
    if fmt == "tflite":
        from converters.tflite import load_tflite
        return load_tflite(path)
    raise TinyCNNError(f"{path}: unknown model format '{path.suffix}'; supported: "
                       + ", ".join(sorted(FORMATS)))
