"""The fixture blobs the fuzzer mutates: the repo's fixture models converted with our own
converter (int8, int16x8, binary, legacy uint8 and float32 TFLite, TFLM-exact ops), small
enough that a mutant runs in milliseconds. Built once per directory and cached there."""
from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def _calib(path, n=32):
    z = np.load(path)
    return (z["x_calib"] if "x_calib" in z else z["x"])[:n]


def _int16x8(out):
    from tinycnn.blob.writer import write_blob
    from tinycnn.convert import import_model, to_nhwc
    from tinycnn.quant.calibrate import calibrate
    from tinycnn.quant.int8 import QuantConfig, quantize_int8
    from tinycnn.quant.int16x8 import wideable_layers, widen_int16x8
    g = import_model(ROOT / "examples/digits_cnn.onnx")
    obs = calibrate(g, [to_nhwc(g, _calib(ROOT / "examples/digits_calib.npz"))])
    q8 = quantize_int8(g, obs, QuantConfig())
    return write_blob(widen_int16x8(q8, g, obs, wideable_layers(q8)), out)


def _convert(model, calib=None, scheme="int8"):
    def build(out):
        from tinycnn.convert import convert
        return convert(ROOT / model, calib=_calib(ROOT / calib) if calib else None, output=out, scheme=scheme)
    return build


FIXTURES = {
    "int8_digits": _convert("examples/digits_cnn.onnx", "examples/digits_calib.npz"),
    "int16x8_digits": _int16x8,
    "binary_bnn": _convert("tests/data/bnn/bnn_digits.onnx", "tests/data/bnn/bnn_digits_data.npz"),
    "uint8_legacy": _convert("tests/data/tflite/legacy_uint8.tflite"),
    "float32_tflite": _convert("tests/data/tflite/float32.tflite", scheme="float32"),
    "int8_tflite_misc": _convert("tests/data/tflite/misc_ops.tflite"),
    "float32_onnx_misc": _convert("tests/data/onnx/misc_ops.onnx", scheme="float32"),
}


def fixture_blobs(directory) -> dict:
    """name -> path of every fixture blob, converting the missing ones into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, build in FIXTURES.items():
        path = directory / f"{name}.tcnn"
        if not path.exists():
            build(path)
        paths[name] = path
    return paths
