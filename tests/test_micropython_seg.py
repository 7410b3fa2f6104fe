"""The segmentation / detection ops in the MicroPython runtime (tinycnn_mp, src/p7_seg.py) run in
real MicroPython (the webassembly port under node), bit-exact with the Python runtime
(tinycnn.load(...).run_quantized, itself bit-exact with TFLite Micro on these fixtures and with
the NumPy integer reference): the TFLite seg head (TRANSPOSE_CONV, RESIZE_BILINEAR half-pixel and
align-corners, DEPTH_TO_SPACE, SPACE_TO_DEPTH, STRIDED_SLICE with a negative stride, ARG_MAX with
an int32 output), the Keras UNet decoder, every ONNX seg builder of tests/test_ops_onnx_seg.py
(ReduceMean, ArgMin, CRD DepthToSpace, ConvTranspose paddings, Resize modes, Slice steps) and a
TFLite PRELU. All models run in one MicroPython process (node start-up once)."""
from __future__ import annotations

import subprocess

import numpy as np

import tinycnn
from tests.conftest import DATA
from tests.test_ops_onnx_seg import CASES, SHAPE, _model
from tests.test_tflite_wild import _prelu_file
from tinycnn.convert import to_nhwc

SEG_OPS = {"RESIZE_BILINEAR", "TRANSPOSE_CONV", "REDUCE_MEAN", "ARG_MAX", "ARG_MIN", "DEPTH_TO_SPACE",
           "SPACE_TO_DEPTH", "STRIDED_SLICE", "PRELU"}

RUNNER = """
import sys
sys.path.insert(0, "/mpy")
import array, tinycnn_mp
_k = 0
_more = N_MODELS > 0
#---STEP---
_spec = SPECS[_k]
_m = tinycnn_mp.load("/mpy/m%d.tcnn" % _k)
_x = array.array(_spec[0], range(_spec[1]))
with open("/mpy/x%d.bin" % _k, "rb") as f:
    f.readinto(_x)
_y = _m.run(_x)
with open("/mpy/out/y%d.bin" % _k, "wb") as f:
    for _o in (_y if isinstance(_y, list) else [_y]):
        f.write(_o)
_m = _y = _x = None
_k += 1
_more = _k < N_MODELS
#---STEP---
print("DONE", _k)
"""


def run_many(tmp_path, items):
    """items: [(blob path, one int NHWC input sample)] -> [[outputs as raw bytes, one per model]]."""
    from tinycnn.mpy import module_source
    from tinycnn.mpy.host import DRIVER, TYPECODES, micropython_mjs
    (tmp_path / "in").mkdir(parents=True)
    (tmp_path / "in" / "tinycnn_mp.py").write_text(module_source())
    specs = []
    for k, (blob, x) in enumerate(items):
        (tmp_path / "in" / f"m{k}.tcnn").write_bytes(blob.read_bytes())
        np.ascontiguousarray(x).tofile(tmp_path / "in" / f"x{k}.bin")
        specs.append((TYPECODES[x.dtype.name], int(x.size)))
    (tmp_path / "main.py").write_text(f"SPECS = {specs!r}\nN_MODELS = {len(items)}\n" + RUNNER)
    r = subprocess.run(["node", str(DRIVER), str(micropython_mjs()), str(16 << 20), str(tmp_path)],
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0 and f"DONE {len(items)}" in r.stdout, r.stderr[-2000:]
    return [(tmp_path / "out" / f"y{k}.bin").read_bytes() for k in range(len(items))]


def _onnx_item(tmp_path, name):
    rng = np.random.default_rng(1)
    calib = rng.standard_normal((32,) + SHAPE[1:]).astype(np.float32)
    blob = tinycnn.convert(_model(tmp_path, name), calib=calib, output=tmp_path / f"{name}.tcnn")
    m = tinycnn.load(blob)
    return blob, m.quantize_input(to_nhwc(m.graph, rng.standard_normal((1,) + SHAPE[1:]).astype(np.float32)))


def _items(tmp_path):
    seg = tinycnn.convert(DATA / "tflite" / "seg" / "seg_head.tflite", output=tmp_path / "seg_head.tcnn")
    yield "tflite_seg_head", seg, np.load(DATA / "tflite" / "seg" / "seg_head_data.npz")["x_q"][:1]
    d = np.load(DATA / "keras" / "seg" / "unet_decoder_data.npz")
    unet = tinycnn.convert(DATA / "keras" / "seg" / "unet_decoder.h5", calib=d["x_calib"][:32],
                           output=tmp_path / "unet.tcnn")
    m = tinycnn.load(unet)
    yield "keras_unet_decoder", unet, m.quantize_input(to_nhwc(m.graph, d["x_test"][:1]))
    for name in sorted(CASES):
        yield ("onnx_" + name,) + _onnx_item(tmp_path, name)
    prelu = tinycnn.convert(_prelu_file(tmp_path, np.int8, 3), output=tmp_path / "prelu.tcnn")
    yield "tflite_prelu", prelu, np.random.default_rng(3).integers(-128, 128, (1, 3, 4, 6)).astype(np.int8)


def test_seg_ops_bit_exact_in_micropython(tmp_path):
    items = list(_items(tmp_path))
    raw = run_many(tmp_path / "mp", [(b, x) for _, b, x in items])
    covered = set()
    for (name, blob, x), got in zip(items, raw):
        model = tinycnn.load(blob)
        covered |= {n.op.value for n in model.graph.nodes}
        want = model.run_quantized([x])
        assert got == b"".join(np.ascontiguousarray(w).astype(w.dtype.newbyteorder("<")).tobytes() for w in want), name
    assert SEG_OPS <= covered, SEG_OPS - covered


def test_split_multiplier_requantization_exact():
    """_mbqe (the multiplier prepared as e = m - 2**30, a MicroPython small int, the 64-bit
    product assembled from 15-bit limbs) equals tinycnn.fixedpoint's MultiplyByQuantizedMultiplier
    (tested against TFLite Micro) on random and edge operands; so does _mbqm (raw multiplier,
    including the one saturating product)."""
    from tinycnn.fixedpoint import multiply_by_quantized_multiplier as ref
    from tinycnn.mpy import module_source
    ns = {}
    exec(module_source(), ns)
    rng = np.random.default_rng(5)
    edges = [0, 1, -1, 16383, -16383, 16384, -16384, 32767, -32768, 1 << 29, -(1 << 29), (1 << 31) - 1, -(1 << 31)]
    xs = list(rng.integers(-(1 << 31), 1 << 31, 3000)) + list(rng.integers(-(1 << 20), 1 << 20, 3000)) + edges
    ms = list(rng.integers(1 << 30, 1 << 31, 40)) + [0, 1, 32767, 1 << 30, (1 << 31) - 1]
    for x in xs:
        for m in ms[::7] if abs(int(x)) > 40000 else ms:
            for s in (-31, -9, 0, 2):
                x1 = int(x) >> 3 if s > 0 else int(x)
                want = int(ref(x1, int(m), s))
                assert ns["_mbqe"](x1, int(m) - (1 << 30), s) == want == ns["_mbqm"](x1, int(m), s), (x1, m, s)
    assert ns["_mbqm"](-(1 << 31), -(1 << 31), -3) == int(ref(-(1 << 31), -(1 << 31), -3))
