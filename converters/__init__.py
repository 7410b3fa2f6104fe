"""Model file -> tinycnn IR. Each importer knows one file format and nothing about kernels."""
from __future__ import annotations

import struct

from tinycnn.errors import TinyCNNError

FORMATS = {".onnx": "onnx", ".keras": "keras", ".h5": "keras", ".hdf5": "keras", ".tflite": "tflite"}


def load_model(path, input_shapes=None):
    """Import a model file into a float (or, for int8 TFLite, already quantized) Graph.
    input_shapes: {input name: shape} fixing dynamic input dimensions (ONNX, Keras)."""
    from tinycnn.fileio import check_input_file
    path = check_input_file(path, "model")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise TinyCNNError(f"{path}: unknown model format '{path.suffix}'; supported: "
                           + ", ".join(sorted(FORMATS)))
    try:
        return _load(path, fmt, input_shapes)
    except TinyCNNError:
        raise
    except MALFORMED as exc:  # backstop: a structurally broken file never shows a traceback
        msg = (str(exc).splitlines() or [""])[0][:300]
        raise TinyCNNError(f"{path}: malformed {fmt} model ({type(exc).__name__}"
                           f"{': ' + msg if msg else ''})") from exc


# what a corrupt file makes a parser raise (struct.error: truncated flatbuffer tables)
MALFORMED = (IndexError, KeyError, ValueError, TypeError, AttributeError, ZeroDivisionError,
             OverflowError, RecursionError, MemoryError, FloatingPointError, UnicodeError,
             struct.error, EOFError, OSError)


def _load(path, fmt, input_shapes=None):
    if fmt == "onnx":
        from converters.onnx import load_onnx
        return load_onnx(path, input_shapes)
    if fmt == "keras":
        from converters.keras import load_keras
        return load_keras(path, input_shapes=input_shapes)
    if fmt == "tflite":
        from converters.tflite import load_tflite
        return load_tflite(path)
