"""Regression tests for hostile inputs and outputs (issues #18, #19); the oracle is the rule
itself: one TinyCNNError line, nothing written, no foreign bytes read."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import onnx
import pytest
from onnx import helper

from converters import load_model
from tinycnn.dataset import load_inputs, load_labeled
from tinycnn.errors import TinyCNNError
from tinycnn.fileio import atomic_write

DATA = Path(__file__).parent / "data"
KERAS = sorted((DATA / "keras").glob("*.keras"))[0]


def _one_line(exc):
    assert str(exc.value).splitlines()[0].strip()
    assert all(ln.startswith("  supported") for ln in str(exc.value).splitlines()[1:])


def test_h5_external_storage_and_links_refused(tmp_path):
    with h5py.File(tmp_path / "ext.h5", "w") as f:
        f.attrs["model_config"] = "{}"
        f.create_dataset("w", shape=(10,), dtype="u1", external=[("/etc/passwd", 0, 10)])
    with h5py.File(tmp_path / "lnk.h5", "w") as f:
        f.attrs["model_config"] = "{}"
        f["x"] = h5py.ExternalLink("/etc/passwd", "/w")
    with pytest.raises(TinyCNNError, match="external storage"):
        load_model(tmp_path / "ext.h5")
    with pytest.raises(TinyCNNError, match="external link"):
        load_model(tmp_path / "lnk.h5")


def test_keras_zip_bomb_and_deep_json_refused(tmp_path):
    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", "{}")
        z.writestr("model.weights.h5", b"\0" * (64 << 20))
    with pytest.raises(TinyCNNError, match="zip bomb"):
        load_model(bomb)
    deep = tmp_path / "deep.keras"
    with zipfile.ZipFile(KERAS) as src, zipfile.ZipFile(deep, "w") as z:
        for n in src.namelist():
            z.writestr(n, "[" * 100000 + "]" * 100000 if n == "config.json" else src.read(n))
    with pytest.raises(TinyCNNError, match="nested too deeply"):
        load_model(deep)


def test_npz_zip_bomb_refused(tmp_path):
    p = tmp_path / "bomb.npz"
    buf = io.BytesIO()
    np.save(buf, np.zeros((64 << 20) // 4, np.float32))
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("x.npy", buf.getvalue())
    with pytest.raises(TinyCNNError, match="zip bomb"):
        load_inputs(p)


@pytest.mark.parametrize("arrays,match", [
    ({"x": np.array(3.0)}, "scalar"), ({"x": np.zeros((2, 2), np.complex64)}, "complex"),
    ({"x": np.zeros((2, 2), "datetime64[s]")}, "datetime"), ({"x": np.array(["a"])}, "dtype"),
    ({"x": np.zeros((2, 2), bool)}, "bool"), ({}, "no arrays"),
    ({"x": np.zeros((2, 3), np.float32), "y": np.array([np.nan, 1.0])}, "NaN"),
    ({"x": np.zeros((2, 3), np.float32), "y": np.array([{}, 1], dtype=object)}, "pickle")])
def test_bad_data_files(tmp_path, arrays, match):
    p = tmp_path / "d.npz"
    np.savez(p, **arrays)
    with pytest.raises(TinyCNNError, match=match) as exc:
        load_labeled(p)
    _one_line(exc)


def test_bad_npy_header_bad_zip_and_fifo(tmp_path):
    (tmp_path / "h.npy").write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': 'zz'}\n")
    (tmp_path / "z.npz").write_bytes(b"PK\x03\x04garbage")
    os.mkfifo(tmp_path / "f.npy")
    for name in ("h.npy", "z.npz", "f.npy"):
        with pytest.raises(TinyCNNError):
            load_inputs(tmp_path / name)


def _onnx_conv(tmp_path, **attrs):
    w = helper.make_tensor("w", onnx.TensorProto.FLOAT, [2, 1, 3, 3], np.zeros(18, np.float32))
    g = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], **attrs)], "g",
                          [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 1, 8, 8])],
                          [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)], [w])
    p = tmp_path / "m.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), p)
    return p


@pytest.mark.parametrize("attrs,match", [({"strides": "ab"}, "strides"), ({"group": 1.5}, "group")])
def test_onnx_wrong_attribute_types(tmp_path, attrs, match):
    with pytest.raises(TinyCNNError, match=match) as exc:
        load_model(_onnx_conv(tmp_path, **attrs))
    _one_line(exc)


def test_onnx_loop_and_huge_constant_folding_bounded(tmp_path):
    body = helper.make_graph([helper.make_node("Identity", ["c"], ["c_out"])], "body",
                             [helper.make_tensor_value_info("i", onnx.TensorProto.INT64, []),
                              helper.make_tensor_value_info("c", onnx.TensorProto.BOOL, [])],
                             [helper.make_tensor_value_info("c_out", onnx.TensorProto.BOOL, [])])
    inits = [helper.make_tensor("n", onnx.TensorProto.INT64, [], [10**12]),
             helper.make_tensor("t", onnx.TensorProto.BOOL, [], [True]),
             helper.make_tensor("shape", onnx.TensorProto.INT64, [3], [1024, 1024, 768])]
    nodes = [helper.make_node("Loop", ["n", "t"], [], body=body),
             helper.make_node("ConstantOfShape", ["shape"], ["big"])]
    for keep, match in (([nodes[0]], "trip count"), ([nodes[1]], "constant folding")):
        out = keep[0].output[0] if keep[0].output else "n"
        g = helper.make_graph(keep, "g", [], [helper.make_tensor_value_info(out, 1, None)], inits)
        p = tmp_path / "f.onnx"
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), p)
        if keep[0].op_type == "Loop":  # a Loop producing nothing: make its trip count reach an output
            keep[0].output.append("v")
            g = helper.make_graph(keep, "g", [], [helper.make_tensor_value_info("v", 1, None)], inits)
            onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), p)
        with pytest.raises(TinyCNNError, match=match):
            load_model(p)


def test_atomic_write_rules(tmp_path):
    for bad, match in (("", "empty"), (tmp_path, "directory"), ("/dev/null", "regular file"),
                       (tmp_path / "nope" / "o.json", "does not exist")):
        with pytest.raises(TinyCNNError, match=match):
            atomic_write(bad, "x")
    target, victim = tmp_path / "o.txt", tmp_path / "victim"
    victim.write_text("keep")
    target.symlink_to(victim)
    atomic_write(target, "new")
    assert victim.read_text() == "keep" and target.read_text() == "new" and not target.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.txt", "victim"]


def test_cli_outputs_refused_before_work(tmp_path):
    cli = [sys.executable, "-m", "tinycnn.cli"]
    for args in (["convert", "examples/digits_cnn.onnx", "-o", ""],
                 ["convert", "examples/digits_cnn.onnx", "-o", "/dev/null"],
                 ["run", "x.tcnn", "-i", "examples/digits_test.npz", "-o", str(tmp_path)]):
        r = subprocess.run(cli + args, capture_output=True, text=True, cwd=DATA.parent.parent)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
