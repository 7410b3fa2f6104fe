"""The C runtime's legacy uint8 kernels (kernel variant "uint8", runtime/kernels/tcnn_u8.c), host
build: bit-exact with tflite-runtime's reference kernels on the two uint8 fixtures (300 image-like
inputs each) and on single-op uint8 AVERAGE_POOL_2D models of four geometries (where the
half-up rounding of even windows matters), and a blob whose weight_offset lies outside
[-127, 128] is refused by tcnn_init."""
from __future__ import annotations

import numpy as np
import pytest

import tinycnn
from tests.test_c_runtime import _run_c, run_model  # noqa: F401  (the session's host build)
from tests.test_tflite_uint8 import FIXTURES, _uint8_avgpool_file, fixture_inputs, image_like_u8
from tinycnn.oracles import tflite_ref


def _c_outputs(exe, blob, xu, tmp_path):
    xq = (xu.astype(np.int16) - 128).astype(np.int8)  # the blob's int8 input (uint8 - 128)
    r, got = _run_c(exe, blob, [xq], tmp_path)
    assert r.returncode == 0, r.stderr
    return (got.view(np.int8).astype(np.int16) + 128).astype(np.uint8)


@pytest.mark.parametrize("name", list(FIXTURES))
def test_c_uint8_fixture_bit_exact_with_reference_kernels(run_model, name, tmp_path):  # noqa: F811
    blob = tinycnn.convert(FIXTURES[name], output=tmp_path / "u8.tcnn")
    xu = fixture_inputs(name)
    ref = tflite_ref.run(FIXTURES[name], xu)[0]
    np.testing.assert_array_equal(_c_outputs(run_model, blob, xu, tmp_path), ref.reshape(-1))


@pytest.mark.parametrize("k,stride,padding", [(2, 2, 1), (4, 4, 1), (2, 1, 0), (3, 2, 0)])
def test_c_uint8_average_pool_bit_exact(run_model, tmp_path, k, stride, padding):  # noqa: F811
    p = _uint8_avgpool_file(tmp_path, k, stride, padding)
    blob = tinycnn.convert(p, output=tmp_path / "a.tcnn")
    xu = np.concatenate([image_like_u8(100, 8, k * 10 + stride + c) for c in range(3)], axis=3)
    ref = tflite_ref.run(p, xu)[0]
    np.testing.assert_array_equal(_c_outputs(run_model, blob, xu, tmp_path), ref.reshape(-1))


def test_c_refuses_a_weight_offset_out_of_range(run_model, tmp_path, monkeypatch):  # noqa: F811
    """Our own writer, CRC right, weight_offset 300: tcnn_init refuses it (the Python validator
    would too; it is bypassed here to reach the C checks)."""
    from tinycnn.blob.reader import read_blob
    from tinycnn.blob.writer import graph_to_bytes
    g = read_blob(tinycnn.convert(FIXTURES["legacy_uint8"], output=tmp_path / "u8.tcnn"))
    next(n for n in g.nodes if n.op.value == "CONV_2D").attrs["weight_offset"] = 300
    (tmp_path / "bad.tcnn").write_bytes(graph_to_bytes(g))
    r, _ = _run_c(run_model, tmp_path / "bad.tcnn", [np.zeros((1, 16, 16, 1), np.int8)], tmp_path)
    assert r.returncode == 3 and "tcnn_init" in r.stderr, r.stderr
