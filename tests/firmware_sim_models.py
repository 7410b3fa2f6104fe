"""Test models for the firmware_sim tests, converted once per process: every ONNX fixture in
tests/data/onnx, the tests/onnx_builders graphs and the BNN fixture (mixed int8 / 1-bit)."""
from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import numpy as np
import pytest

import tinycnn
from tests.conftest import DATA

ONNX_FIXTURES = sorted(p.stem for p in (DATA / "onnx").glob("*.onnx"))


@functools.lru_cache(maxsize=None)
def _workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="fwsim_models_"))


@functools.lru_cache(maxsize=None)
def converted_models() -> dict:
    """name -> (blob path, loaded graph, float test inputs in the source layout)."""
    import onnx

    from tests.onnx_builders import ALL
    out, d = {}, _workdir()
    for name in ONNX_FIXTURES:
        z = np.load(DATA / "onnx" / f"{name}_data.npz")
        blob = tinycnn.convert(DATA / "onnx" / f"{name}.onnx", calib=z["x_calib"][:40], output=d / f"{name}.tcnn")
        out[name] = (blob, z["x_test"][:3])
    rng = np.random.default_rng(7)
    for name, fn in ALL.items():
        model, shape = fn()
        onnx.save(model, d / f"{name}.onnx")
        x = rng.uniform(-1, 1, (24,) + tuple(shape[1:])).astype(np.float32)
        out[name] = (tinycnn.convert(d / f"{name}.onnx", calib=x[:20], output=d / f"{name}.tcnn"), x[20:])
    z = np.load(DATA / "bnn" / "bnn_digits_data.npz")
    out["bnn"] = (tinycnn.convert(DATA / "bnn" / "bnn_digits.onnx", calib=z["x_calib"][:40],
                                  output=d / "bnn.tcnn"), z["x_calib"][40:43])
    return out


@pytest.fixture
def converted():
    """name -> (blob path, graph)."""
    return {k: (b, tinycnn.load(b).graph) for k, (b, _) in converted_models().items()}
