"""`tinycnn tradeoff` on models with dynamic input dimensions: fixed from the calibration data's
shape (as `tinycnn convert` does) or from --input-shape / input_shapes, in every worker, in the
saved tradeoff.json and in `convert --from-tradeoff`. Checked against ONNX Runtime (the
explorer's own float reference for .onnx) and the Keras outputs saved with the fixture."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import tinycnn
from tinycnn.cli import main
from tinycnn.explorer import tradeoff
from tinycnn.explorer.candidates import Candidate
from tinycnn.explorer.save import convert_from_tradeoff

WILD = Path(__file__).parent / "data" / "wild"
CANDS = [Candidate("float32", "float32"), Candidate("int8", "int8")]


def _rows(res):
    rows = {r["candidate"]: r for r in res.rows}
    assert all("error" not in r for r in rows.values()), rows
    return rows


def test_dynamic_onnx_shape_from_calibration_vs_onnxruntime(tmp_path):
    npz = WILD / "torch_dynamic_data.npz"  # x_calib / x_test (N, 3, 16, 48)
    res = tradeoff(WILD / "torch_dynamic.onnx", npz, npz, mixed=False, jobs=2, progress=False, latency_samples=1,
                   candidates=CANDS, save_dir=tmp_path / "to")
    rows = _rows(res)  # accuracy / SQNR are measured against ONNX Runtime's outputs
    assert rows["float32"]["sqnr_db"] > 80 and rows["int8"]["sqnr_db"] > 30
    assert rows["int8"]["top1_agreement"] >= 90
    doc = json.loads((tmp_path / "to" / "tradeoff.json").read_text())
    assert doc["provenance"]["input_shapes"] == {"x": [-1, 3, 16, 48]}
    blob, _ = convert_from_tradeoff(tmp_path / "to" / "tradeoff.json", "int8", output=tmp_path / "int8.tcnn")
    assert tinycnn.load(blob).graph.tensors["x"].shape[1:] == (16, 48, 3)


def test_dynamic_keras_input_shape_given_vs_keras_outputs(tmp_path):
    z = np.load(WILD / "dynamic_spatial_data.npz")  # None spatial dims; x_test2 is 16x16
    np.savez(tmp_path / "d.npz", x=z["x_test2"][:24])
    np.savez(tmp_path / "c.npz", x=z["x_test2"][24:56])
    res = tradeoff(WILD / "dynamic_spatial.h5", tmp_path / "d.npz", tmp_path / "c.npz", mixed=False, jobs=1,
                   progress=False, latency_samples=1, candidates=CANDS, save_dir=tmp_path / "to",
                   input_shapes={"image": (1, 16, 16, 1)})
    rows = _rows(res)
    f32 = tinycnn.load(tmp_path / "to" / rows["float32"]["blob_file"])
    np.testing.assert_allclose(f32.run(z["x_test2"][:24]), z["y_keras2"][:24], atol=1e-4)
    q = tinycnn.load(tmp_path / "to" / rows["int8"]["blob_file"])
    assert np.mean(q.run(z["x_test2"][:24]).argmax(1) == z["y_keras2"][:24].argmax(1)) >= 0.9


def test_cli_input_shape_is_checked_before_any_work(capsys):
    npz = str(WILD / "torch_dynamic_data.npz")
    rc = main(["tradeoff", str(WILD / "torch_dynamic.onnx"), "--data", npz, "--calib", npz, "--quiet",
               "--input-shape", "x=1x3x16"])
    err = capsys.readouterr().err
    assert rc == 2 and "input 'x' has rank 4" in err and "[1, 3, 16]" in err
