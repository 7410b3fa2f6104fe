"""seg_head.tflite (made by the TF converter, tests/data/tflite/seg/make_seg_fixtures.py): a
segmentation decoder with dilated depthwise, TRANSPOSE_CONV, RESIZE_BILINEAR (half-pixel and
align-corners), DEPTH_TO_SPACE, SPACE_TO_DEPTH, STRIDED_SLICE and ARG_MAX. Both outputs are
bit-exact with TFLite Micro through the blob, and the device simulation runs it with a cycle
estimate for every layer and the same outputs as the CPU runtime."""
import copy

import numpy as np
import pytest

import tinycnn
from firmware_sim import simulate
from tests.conftest import DATA
from tinycnn.blob.validate import validate_graph
from tinycnn.errors import BlobError
from tinycnn.oracles import tflm
from tinycnn.report import sqnr_db

PATH = DATA / "tflite" / "seg" / "seg_head.tflite"


def test_seg_head_bit_exact_vs_tflm(tmp_path):
    x = np.load(DATA / "tflite" / "seg" / "seg_head_data.npz")["x_q"]
    model = tinycnn.load(tinycnn.convert(PATH, output=tmp_path / "seg.tcnn"))
    ops = {n.op.value for n in model.graph.nodes}
    assert {"RESIZE_BILINEAR", "TRANSPOSE_CONV", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH", "STRIDED_SLICE",
            "ARG_MAX", "DEPTHWISE_CONV_2D"} <= ops, ops
    ref = tflm.run(PATH, [x])
    ours = model.run_quantized([x])
    assert len(ours) == len(ref) == 2
    by_dtype = {np.dtype(r.dtype): r for r in ref}
    assert set(by_dtype) == {np.dtype(np.int8), np.dtype(np.int32)}
    for y in ours:
        r = by_dtype[np.dtype(y.dtype)]
        np.testing.assert_array_equal(y.reshape(r.shape), r)


def test_seg_head_simulates_with_costs(tmp_path):
    blob = tinycnn.convert(PATH, output=tmp_path / "seg.tcnn")
    x = np.load(DATA / "tflite" / "seg" / "seg_head_data.npz")["x_q"][:2]
    report = simulate(blob, "cortex-m4", inputs=[x])
    assert report.matches_cpu is True
    kernels = {r["op"]: r["kernel"] for r in report.rows}
    assert kernels["TRANSPOSE_CONV"] == "conv" and kernels["RESIZE_BILINEAR"].startswith("bilinear")
    assert kernels["ARG_MAX"] == "arg reduce" and kernels["DEPTH_TO_SPACE"] == "copy"
    assert all(r["cycles"] > 0 for r in report.rows) and report.cycles == sum(r["cycles"] for r in report.rows)


@pytest.mark.parametrize("op,key,value", [
    ("RESIZE_BILINEAR", "size", [0, 4]), ("TRANSPOSE_CONV", "output_size", [5, 5]),
    ("DEPTH_TO_SPACE", "block", 3), ("SPACE_TO_DEPTH", "mode", "XYZ"), ("STRIDED_SLICE", "size", None),
    ("ARG_MAX", "axis", 0), ("TRANSPOSE_CONV", "output_multiplier", None),
])
def test_validator_rejects_inconsistent_new_ops(tmp_path, op, key, value):
    """A blob whose new-op attributes do not fit its shapes is refused before any kernel runs."""
    g = copy.deepcopy(tinycnn.load(tinycnn.convert(PATH, output=tmp_path / "seg.tcnn")).graph)
    node = next(n for n in g.nodes if n.op.value == op)
    if key == "output_multiplier":
        node.params[key] = node.params[key][:-1]
    elif key == "size":
        node.attrs[key] = value if value is not None else [-1] + [d + 1 for d in node.attrs[key][1:]]
    else:
        node.attrs[key] = value
    with pytest.raises(BlobError, match=op):
        validate_graph(g, "seg.tcnn")


def test_seg_head_float_tflite_matches_tflite_interpreter_and_quantizes(tmp_path):
    """The float32 variant: the float import matches the TFLite interpreter's outputs saved with the
    fixture; tinycnn's own int8 quantization of it keeps the logits (SQNR) and most labels."""
    path = DATA / "tflite" / "seg" / "seg_head_float.tflite"
    d = np.load(DATA / "tflite" / "seg" / "seg_head_float_data.npz")
    model = tinycnn.load(tinycnn.convert(path, scheme="float32", output=tmp_path / "f.tcnn"))
    outs = model.run(d["x"])
    logits, labels = (outs if outs[0].dtype != np.int32 else outs[::-1])
    np.testing.assert_allclose(logits, d["logits"], rtol=1e-4, atol=1e-4 * np.abs(d["logits"]).max())
    np.testing.assert_array_equal(labels, d["labels"])
    q = tinycnn.load(tinycnn.convert(path, calib=d["x"], output=tmp_path / "q.tcnn")).run(d["x"])
    q_logits, q_labels = (q if q[0].dtype != np.int32 else q[::-1])
    assert sqnr_db(d["logits"], q_logits) >= 20
    assert np.mean(q_labels == d["labels"]) >= 0.8
