"""From the explorer's table to a deployable blob (issue 16 item 1): `tradeoff --save DIR` keeps
the blob each candidate was measured with, `convert --from-tradeoff J --pick NAME` rebuilds it
byte for byte, `convert --scheme int16x8` is the explorer's 16x8 build, `--calibration auto`
picks the method a direct measurement (ONNX Runtime reference vs the blob's outputs) says is
best, and the small-validation-split warning fires exactly when 100/N > budget."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import tinycnn
from tinycnn.blob.reader import read_blob
from tinycnn.cli import main
from tinycnn.explorer import tradeoff
from tinycnn.explorer.candidates import Candidate
from tinycnn.explorer.explore import small_validation_warning
from tinycnn.explorer.inputs import load_calib, load_eval_data, split_validation
from tinycnn.quant.calibrate import METHODS

DIGITS = ("examples/digits_cnn.onnx", "examples/digits_test.npz", "examples/digits_calib.npz")
KW = dict(max_samples=60, calib_samples=80, progress=False, jobs=1, latency_samples=0)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    d = tmp_path_factory.mktemp("saved")
    model = d / "digits_cnn.onnx"
    shutil.copy(DIGITS[0], model)  # an absolute local path the blobs must not carry
    cands = [Candidate("16x8", "int16x8"), Candidate("int8 per-tensor", "int8", "mse", per_channel=False)]
    res = tradeoff(str(model), DIGITS[1], DIGITS[2], mixed=False, candidates=cands, save_dir=d / "out", **KW)
    return res, d, model


def test_saved_blob_is_the_one_measured(saved):
    res, d, model = saved
    doc = json.loads((d / "out" / "tradeoff.json").read_text())
    assert {c["candidate"] for c in doc["candidates"]} == {"16x8", "int8 per-tensor"}
    full = load_eval_data(str(model), DIGITS[1], DIGITS[2], KW["max_samples"])
    for row in doc["candidates"]:
        blob = d / "out" / row["blob_file"]
        # re-run the saved blob on the held-back data: the accuracy the table reports
        out = tinycnn.load(blob).run(full.x_test)
        assert 100 * np.mean(out.argmax(1) == full.y_test) == pytest.approx(row["accuracy"], abs=1e-9)
        raw = blob.read_bytes()
        assert str(d).encode() not in raw and b"/work" not in raw  # no local path in the blob
        assert read_blob(blob).meta["source_path"] == "digits_cnn.onnx"


@pytest.mark.parametrize("pick,name", [("16x8", "16x8"), ("INT8 PER", "int8 per-tensor")])
def test_from_tradeoff_is_byte_identical(saved, tmp_path, capsys, pick, name):
    res, d, model = saved
    row = next(r for r in res.rows if r["candidate"] == name)
    out = tmp_path / "picked.tcnn"
    assert main(["convert", "--from-tradeoff", str(d / "out" / "tradeoff.json"), "--pick", pick,
                 "-o", str(out)]) == 0
    assert "byte-identical" in capsys.readouterr().out
    assert out.read_bytes() == (d / "out" / row["blob_file"]).read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["picked.tcnn"]


def test_from_tradeoff_refuses_other_inputs(saved, tmp_path, capsys):
    _, d, _ = saved
    js = str(d / "out" / "tradeoff.json")
    other = tmp_path / "other.onnx"
    other.write_bytes(open("tests/data/onnx/mobilenet_v2.onnx", "rb").read())
    out = tmp_path / "x.tcnn"
    assert main(["convert", str(other), "--from-tradeoff", js, "--pick", "16x8", "-o", str(out)]) == 2
    assert "is not the model" in capsys.readouterr().err
    assert main(["convert", "--from-tradeoff", js, "--pick", "16x8", "--calib", DIGITS[1], "-o", str(out)]) == 2
    assert "calibration data" in capsys.readouterr().err
    assert main(["convert", "--from-tradeoff", js, "--pick", "nope", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "'16x8'" in err and "'int8 per-tensor'" in err
    assert not out.exists()


def test_convert_scheme_int16x8_is_the_explorer_16x8(saved, tmp_path):
    res, d, model = saved
    x = load_calib(DIGITS[2], KW["calib_samples"])
    out = tinycnn.convert(model, calib=x, output=tmp_path / "w.tcnn", scheme="int16x8")
    a, b = read_blob(out), read_blob(d / "out" / "16x8.tcnn")
    assert a.meta["scheme"] == "int16x8" and a.meta["int16x8_layers"] == b.meta["int16x8_layers"]
    assert [n.op for n in a.nodes] == [n.op for n in b.nodes]
    for name, t in b.tensors.items():
        assert a.tensors[name].dtype == t.dtype
        if t.is_const:
            assert np.array_equal(a.tensors[name].data, t.data), name
    # activations really are int16 in the weighted layers
    assert any(t.dtype == "int16" for t in a.tensors.values())


def _sqnr_db(ref, out):
    ref, out = ref.astype(np.float64), out.astype(np.float64)
    return 10 * np.log10(np.sum(ref ** 2) / max(np.sum((ref - out) ** 2), 1e-30))


def test_calibration_auto_picks_the_best_measured_method(tmp_path):
    import onnxruntime as ort
    res = tradeoff(*DIGITS, mixed=False, calibration="auto", candidates=[Candidate("int8", "int8")], **KW)
    auto = res.meta["calibration_auto"]
    # independently: the same validation split, each method converted by tinycnn.convert and
    # compared with ONNX Runtime's float outputs
    full = load_eval_data(*DIGITS, KW["max_samples"])
    val, _ = split_validation(full, 0.3, 0)
    sess = ort.InferenceSession(DIGITS[0])
    ref = sess.run(None, {sess.get_inputs()[0].name: val.x_test})[0]
    x_calib = load_calib(DIGITS[2], KW["calib_samples"])
    scores = {}
    for m in METHODS:
        out = tinycnn.load(tinycnn.convert(DIGITS[0], calib=x_calib, output=tmp_path / f"{m}.tcnn",
                                           calibration=m)).run(val.x_test)
        scores[m] = (float(np.mean(out.argmax(1) == ref.argmax(1))), _sqnr_db(ref, out))
    best = max(METHODS, key=lambda m: (scores[m], -METHODS.index(m)))
    assert auto["method"] == best == res.meta["calibration"], scores
    for m in METHODS:
        assert auto["measured"][m]["sqnr_db"] == pytest.approx(scores[m][1], abs=0.05)
    line = next(x for x in res.format().splitlines() if x.startswith("calibration auto:"))
    assert f"calibration auto: {best}," in line and f"{len(val.x_test)} validation samples" in line


@pytest.mark.parametrize("n,budget", [(20, 5.0), (20, 4.99), (18, 1.0), (100, 1.0), (101, 1.0), (3, 34.0),
                                      (48, 0.5), (10, -1.0)])
def test_small_validation_warning_exactly_when_one_sample_exceeds_budget(n, budget):
    msg = small_validation_warning(n, budget)
    assert (msg is not None) == (100.0 / n > budget)
    if msg:
        assert f"{n} samples" in msg and f"{100.0 / n:.2f} accuracy points" in msg and f"{budget:g}" in msg
