"""Emulated boards for the kernels of tcnn_seg.c and tcnn_s8_mve.c: the segmentation head (TRANSPOSE_CONV,
RESIZE_BILINEAR, DEPTH_TO_SPACE, SPACE_TO_DEPTH, STRIDED_SLICE, ARG_MAX, dilated depthwise) on the
Cortex-M4 (mps2-an386) and a model of odd sizes on the Cortex-M55 (mps3-an547, QEMU emulates MVE),
built for the M55's Helium paths (the ELF holds VMLADAVA/VQRDMULH), each bit-exact with the Python
runtime (itself tested against TFLite Micro). The M55 model's sizes hit every tail of the MVE
kernels: K not a multiple of 16 (27, 450), pixel counts not multiples of 4, 1x1 convs read in place
with stride 2, depthwise channels and FC outputs not multiples of 4. (The depthwise output overlapping
its input in the arena plan is covered by digits_example in tests/test_emulate_boards.py.)"""
from __future__ import annotations

import shutil
import subprocess

import numpy as np

import tinycnn
from tests.conftest import DATA
from tests.onnx_builders import G, _w
from tests.test_c_runtime import _expected, _inputs
from tests.test_emulate_boards import _run_board


def _odd_model(tmp_path):
    g = G((1, 3, 11, 9))
    x = g.node("Relu", [g.conv(g.x, 3, 5, k=3, pads=[1, 1, 1, 1])])  # K = 27, 99 pixels
    x = g.node("Relu", [g.conv(x, 5, 18, k=1, strides=[2, 2])])  # 1x1 in place, stride 2: 6x5 = 30 pixels
    x = g.node("Relu", [g.conv(x, 18, 18, k=3, group=18, pads=[1, 1, 1, 1])])  # depthwise, 18 channels
    x = g.conv(x, 18, 33, k=5, pads=[2, 2, 2, 2])  # K = 450
    x = g.node("Flatten", [g.node("GlobalAveragePool", [x])], axis=1)
    x = g.node("Gemm", [x, g.init(_w(7, 33)), g.init(_w(7))], transB=1)  # FC, 7 outputs
    path = tmp_path / "odd.onnx"
    path.write_bytes(g.model(x).SerializeToString())
    return path


def test_seg_head_on_cortex_m4_is_bit_exact(tmp_path):
    blob = tinycnn.convert(DATA / "tflite" / "seg" / "seg_head.tflite", output=tmp_path / "seg.tcnn")
    x = np.load(DATA / "tflite" / "seg" / "seg_head_data.npz")["x_q"][:2]
    m = tinycnn.load(blob)
    got, ticks = _run_board(blob, "cortex-m4", [x], tmp_path)
    np.testing.assert_array_equal(got, _expected(m, [x]))
    assert len(ticks) == 2 * len(m.graph.nodes)


def test_mve_kernels_on_cortex_m55_are_bit_exact(tmp_path):
    calib = np.random.default_rng(3).standard_normal((32, 3, 11, 9)).astype(np.float32)
    blob = tinycnn.convert(_odd_model(tmp_path), calib=calib, output=tmp_path / "odd.tcnn")
    m = tinycnn.load(blob)
    assert [n.op.value for n in m.graph.nodes].count("CONV_2D") == 3
    xs = _inputs(m, calib[:3])
    got, _ = _run_board(blob, "cortex-m55", xs, tmp_path)
    np.testing.assert_array_equal(got, _expected(m, xs))
    objdump = shutil.which("arm-none-eabi-objdump")
    dump = subprocess.run([objdump, "-d", "-m", "armv8.1-m.main", str(tmp_path / "proj_cortex-m55" / "build" / "cortex-m55" /
                                                                       "model.elf")], capture_output=True, text=True).stdout
    mve = dump.split("<tcnn_conv_s8_mve>:")[1].split(">:")[0]
    assert "vmlava.s8" in mve and "vqrdmulh.s32" in mve
