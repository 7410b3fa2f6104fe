"""The C runtime's segmentation / detection kernels (firmware_sim/c_runtime/runtime/kernels/tcnn_seg.c:
RESIZE_BILINEAR, TRANSPOSE_CONV, REDUCE_MEAN, ARG_MAX / ARG_MIN, DEPTH_TO_SPACE, SPACE_TO_DEPTH,
STRIDED_SLICE), host build with gcc: bit-exact with the Python runtime (itself bit-exact with TFLite
Micro on the same fixtures, tests/test_ops_seg_fixture.py / test_ops_tflite_seg.py) on the TF-made
seg_head.tflite, the Keras UNet decoder and every ONNX seg case of tests/test_ops_onnx_seg.py; and a
blob it cannot run (float32) or whose seg record lies is refused by tcnn_init."""
from __future__ import annotations

import numpy as np
import pytest

import tinycnn
from tests.conftest import DATA
from tests.test_c_runtime import _expected, _inputs, _run_c, run_model  # noqa: F401  (session fixture)
from tests.test_ops_onnx_seg import CASES, SHAPE, _model

SEG_OPS = {"RESIZE_BILINEAR", "TRANSPOSE_CONV", "REDUCE_MEAN", "ARG_MAX", "ARG_MIN", "DEPTH_TO_SPACE",
           "SPACE_TO_DEPTH", "STRIDED_SLICE"}


def _check(run_model, blob, xs, tmp_path):  # noqa: F811
    m = tinycnn.load(blob)
    r, got = _run_c(run_model, blob, xs, tmp_path)
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(got, _expected(m, xs))
    return {n.op.value for n in m.graph.nodes}


def test_seg_head_tflite_and_keras_unet_are_bit_exact(run_model, tmp_path):  # noqa: F811
    seg = tinycnn.convert(DATA / "tflite" / "seg" / "seg_head.tflite", output=tmp_path / "seg.tcnn")
    x = np.load(DATA / "tflite" / "seg" / "seg_head_data.npz")["x_q"][:6]
    ops = _check(run_model, seg, [x], tmp_path)
    assert {"RESIZE_BILINEAR", "TRANSPOSE_CONV", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH", "STRIDED_SLICE", "ARG_MAX"} <= ops
    d = np.load(DATA / "keras" / "seg" / "unet_decoder_data.npz")
    unet = tinycnn.convert(DATA / "keras" / "seg" / "unet_decoder.h5", calib=d["x_calib"], output=tmp_path / "u.tcnn")
    ops = _check(run_model, unet, _inputs(tinycnn.load(unet), d["x_test"][:3]), tmp_path)
    assert {"RESIZE_BILINEAR", "TRANSPOSE_CONV"} <= ops


def test_onnx_seg_cases_are_bit_exact(run_model, tmp_path):  # noqa: F811
    """22 ONNX graphs: resize (4 coordinate modes, sizes, down), ConvTranspose (strides, pads,
    output_padding, SAME_UPPER, fused ReLU), ReduceMean, ArgMax/ArgMin (keepdims both ways),
    DepthToSpace DCR/CRD, SpaceToDepth, Slice with steps and negative steps."""
    calib = np.random.default_rng(0).standard_normal((16,) + SHAPE[1:]).astype(np.float32)
    seen = set()
    for name in sorted(CASES):
        blob = tinycnn.convert(_model(tmp_path, name), calib=calib, output=tmp_path / f"{name}.tcnn")
        seen |= _check(run_model, blob, _inputs(tinycnn.load(blob), calib[:3]), tmp_path)
    assert SEG_OPS <= seen, SEG_OPS - seen


def test_float32_and_lying_seg_records_are_refused(run_model, tmp_path):  # noqa: F811
    from tinycnn.blob.reader import read_blob
    from tinycnn.blob.writer import graph_to_bytes
    from tinycnn.ir import Op
    flt = tinycnn.convert(DATA / "tflite" / "seg" / "seg_head_float.tflite", output=tmp_path / "f.tcnn", scheme="float32")
    r, _ = _run_c(run_model, flt, [np.zeros((1, 12, 16, 3), np.float32)], tmp_path)
    assert r.returncode == 3 and "float32 blobs run on the host only" in r.stderr, r.stderr
    seg = tinycnn.convert(DATA / "tflite" / "seg" / "seg_head.tflite", output=tmp_path / "seg.tcnn")
    x = np.zeros((1, 12, 16, 3), np.int8)
    lies = {Op.RESIZE_BILINEAR: ("size", lambda v: [v[0] + 1, v[1]]), Op.TRANSPOSE_CONV: ("stride", lambda v: [0, 1]),
            Op.STRIDED_SLICE: ("begin", lambda v: [b + 1000 for b in v]), Op.DEPTH_TO_SPACE: ("block", lambda v: v + 1),
            Op.ARG_MAX: ("axis", lambda v: 9)}
    for op, (attr, lie) in lies.items():
        g = read_blob(seg)
        node = next(n for n in g.nodes if n.op == op)
        node.attrs[attr] = lie(node.attrs[attr])
        (tmp_path / "bad.tcnn").write_bytes(graph_to_bytes(g))
        r, _ = _run_c(run_model, tmp_path / "bad.tcnn", [x], tmp_path)
        assert r.returncode == 3 and "tcnn_init" in r.stderr, (op, r.stderr)


@pytest.mark.parametrize("op", sorted(SEG_OPS))
def test_seg_ops_have_their_attributes_in_the_device_record(op):
    """The C runtime reads the seg ops' attributes from their fixed records (blob format), not
    the host JSON: every attribute of the op's int8 spec has a record field."""
    from tinycnn.blob import format as F
    from tinycnn.opspec import TABLE
    fields = {name for name, _ in F.OP_FIELDS[op]}
    spec = TABLE.get(op, "")
    names = {a.name for a in spec.attrs} | {p.name for p in spec.params}
    assert names <= fields, names - fields


def test_mutated_seg_records_never_crash_the_c_runtime(tmp_path):
    """Word mutants of the seg head's op records and tensor table (CRC recomputed), run by an
    AddressSanitizer + UBSan build: each is refused by tcnn_init (exit 3) or runs cleanly (exit 0)."""
    import random
    import struct
    import subprocess
    import zlib
    from tests.test_c_runtime import ROOT, RUNTIME
    from tinycnn.blob import format as F
    exe = tmp_path / "run_asan"
    sources = [ROOT / "tests" / "c" / "run_model.c", RUNTIME / "tcnn_runtime.c", *sorted((RUNTIME / "kernels").glob("*.c"))]
    subprocess.run(["gcc", "-std=c99", "-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                    "-I", str(RUNTIME), "-o", str(exe), *map(str, sources)], check=True)
    raw0 = tinycnn.convert(DATA / "tflite" / "seg" / "seg_head.tflite", output=tmp_path / "seg.tcnn").read_bytes()
    h = F.HEADER.unpack_from(raw0)
    spans = [(h[6 + 2 * F.SECTIONS.index(s)], h[7 + 2 * F.SECTIONS.index(s)] * unit)
             for s, unit in (("records", 1), ("tensors", F.TENSOR.size))]
    rng = random.Random(1)
    (tmp_path / "in.bin").write_bytes(bytes(rng.randrange(256) for _ in range(12 * 16 * 3)))
    outcomes = {0: 0, 3: 0}
    for _ in range(60):
        raw = bytearray(raw0)
        off, size = rng.choice(spans)
        pos = off + 4 * rng.randrange(size // 4)
        old = struct.unpack_from("<i", raw, pos)[0]
        new = rng.choice([0, -1, 1, old + 1, old - 1, 2 * old, 1 << 30, -(1 << 31), rng.randrange(-99, 99)])
        struct.pack_into("<I", raw, pos, new & 0xFFFFFFFF)
        struct.pack_into("<I", raw, 12, zlib.crc32(raw[F.HEADER_SIZE:]) & 0xFFFFFFFF)
        (tmp_path / "m.tcnn").write_bytes(bytes(raw))
        r = subprocess.run([str(exe), str(tmp_path / "m.tcnn"), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")],
                           capture_output=True, text=True, timeout=60, env={"ASAN_OPTIONS": "detect_leaks=0"})
        assert r.returncode in outcomes, r.stderr[-2000:]
        outcomes[r.returncode] += 1
    assert outcomes[0] > 5 and outcomes[3] > 15, outcomes


def test_every_integer_op_of_the_python_runtime_has_a_c_kernel():
    """Every op with an integer (non-float32) spec has a dispatch case in the C runtime; the rest
    (float-only ops: their int8 forms are LUTs) fall to tcnn_seg_prepare's refusal at init."""
    import re
    from tests.test_c_runtime import RUNTIME
    from tinycnn.opspec import TABLE
    src = (RUNTIME / "tcnn_runtime.c").read_text() + (RUNTIME / "kernels" / "tcnn_seg.c").read_text()
    cases = set(re.findall(r"case TCNN_OP_(\w+):", src))
    integer_ops = {op for op, variant in TABLE.specs if variant != "float32"}
    # int16x8-only ops of imported int16x8 TFLite files with no C kernel yet: refused at load
    # (tests/test_c_runtime.py::test_int16_activations_are_refused_at_init)
    not_yet = {op for op in ("LEAKY_RELU", "SIGMOID", "TANH")
               if {v for o, v in TABLE.specs if o == op} <= {"int16x8", "float32"}}
    assert SEG_OPS <= integer_ops and integer_ops - not_yet <= cases, integer_ops - not_yet - cases
