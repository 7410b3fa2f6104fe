"""`tinycnn simulate --input` with the model's raw integer dtype (tinycnn/edges.py's rule): raw int8
and int16 arrays go in unchanged and the device's outputs equal TFLite Micro's for the same arrays;
float is quantized at the edge; any other integer dtype is a one-line error (exit 2)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tinycnn
from firmware_sim import simulate
from tinycnn.cli import main
from tinycnn.oracles import tflm

DATA = Path(__file__).parent / "data" / "tflite"


def _raw(blob, name, n=3):
    m = tinycnn.load(blob)
    x = np.load(DATA / f"{name}_data.npz")["x_test"][:n].astype(np.float32)
    g = m.graph
    return m, x, m.quantize_input(x.reshape((n,) + tuple(g.tensors[g.inputs[0]].shape[1:])))


@pytest.mark.parametrize("name,dtype", [("mobilenet_v2", np.int8), ("int16x8_kws", np.int16)])
def test_simulate_raw_integer_input_matches_tflm(tmp_path, capsys, name, dtype):
    blob = tinycnn.convert(DATA / f"{name}.tflite", output=tmp_path / f"{name}.tcnn")
    _, x, xq = _raw(blob, name)
    assert xq.dtype == dtype
    np.save(tmp_path / "raw.npy", xq)
    assert main(["simulate", str(blob), "--input", str(tmp_path / "raw.npy")]) == 0
    assert "3 given raw input sample(s)" in capsys.readouterr().out
    report = simulate(blob, inputs=xq)
    want = tflm.run(DATA / f"{name}.tflite", xq)[0]
    np.testing.assert_array_equal(report.outputs_q[0].reshape(want.shape), want)
    assert report.matches_cpu is True
    # float inputs are still quantized at the edge: same integers, same device outputs
    np.testing.assert_array_equal(simulate(blob, inputs=x).outputs_q[0], report.outputs_q[0])


def test_simulate_wrong_integer_dtype_is_one_line_error(tmp_path, capsys):
    blob = tinycnn.convert(DATA / "mobilenet_v2.tflite", output=tmp_path / "m.tcnn")
    _, _, xq = _raw(blob, "mobilenet_v2", 1)
    np.save(tmp_path / "u8.npy", xq.astype(np.uint8))
    assert main(["simulate", str(blob), "--input", str(tmp_path / "u8.npy")]) == 2
    err = capsys.readouterr().err.strip()
    assert "dtype uint8" in err and "int8" in err and len(err.splitlines()) == 1
