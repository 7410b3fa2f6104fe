"""The trade-off explorer end to end (tinycnn/explorer/): CLI output files on the bundled
example and the MobileNetV2-style model, every candidate with every measurement, --jobs 2 ==
--jobs 1, the mixed-precision budget re-checked independently on the validation split, and the
sensitivity report."""
from __future__ import annotations

import json

import pytest

from tinycnn.cli import main
from tinycnn.explorer import EvalData, evaluate_candidate, tradeoff
from tinycnn.explorer.candidates import Candidate, mixed_candidate
from tinycnn.explorer.evaluate import MEASUREMENTS
from tinycnn.explorer.inputs import load_eval_data, split_validation
from tinycnn.explorer.report import comparable_table

DIGITS = ("examples/digits_cnn.onnx", "examples/digits_test.npz", "examples/digits_calib.npz")
MOBILENET = ("tests/data/onnx/mobilenet_v2.onnx", "tests/data/onnx/mobilenet_v2_data.npz",
             "tests/data/onnx/mobilenet_v2_data.npz")
EXPECTED = {"float32", "int8 per-tensor", "int8 per-channel", "int8 percentile", "int8 mse", "int8 entropy",
            "16x8", "1-bit hidden"}


def _check_png(path):
    import matplotlib.image as mpimg
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) > 20_000
    img = mpimg.imread(path)
    assert img.shape[0] > 300 and img.shape[1] > 400 and img.std() > 0.01  # not a blank canvas


def _check_json(path, budget):
    doc = json.loads(path.read_text())
    names = {c["candidate"] for c in doc["candidates"]}
    assert EXPECTED <= names and any(n.startswith("mixed") for n in names)
    for c in doc["candidates"]:
        assert "error" not in c, c
        for key in MEASUREMENTS + ("pareto", "pareto_latency", "pareto_size"):
            assert c.get(key) is not None, (c["candidate"], key)
    mixed = doc["mixed_precision"]
    assert mixed["meets_budget"] and mixed["validation"]["accuracy_drop"] <= budget
    return doc


def _run_cli(model, data, calib, tmp_path, capsys, *extra):
    png, js = tmp_path / "t.png", tmp_path / "t.json"
    assert main(["tradeoff", model, "--data", data, "--calib", calib, "--plot", str(png), "--json", str(js),
                 "--quiet", *extra]) == 0
    cap = capsys.readouterr()
    return cap.out, png, js, cap.err


def test_cli_on_bundled_example(tmp_path, capsys):
    out, png, js, err = _run_cli(*DIGITS, tmp_path, capsys, "--max-samples", "200", "--max-accuracy-drop", "1.0",
                            "--latency-samples", "4")
    assert "candidate" in out and "int8 entropy" in out and "mixed" in out and "*" in out
    # 200 samples x 0.3 = 60 validation samples: one sample = 1.67 points > the 1-point budget
    assert "60 samples, so one sample is 1.67 accuracy points" in err
    _check_png(png)
    doc = _check_json(js, 1.0)
    f32 = next(c for c in doc["candidates"] if c["candidate"] == "float32")
    i8 = next(c for c in doc["candidates"] if c["candidate"] == "int8 per-channel")
    assert f32["peak_sram_bytes"] > 2 * i8["peak_sram_bytes"] and f32["sim_latency_ms"] > i8["sim_latency_ms"]
    assert f32["sqnr_db"] > 80 and i8["sqnr_db"] > 25
    keys = [c["sim_latency_ms"] for c in doc["candidates"]]
    assert keys == sorted(keys), "table sorted by the latency objective"


def test_cli_on_mobilenet_v2_size_objective(tmp_path, capsys):
    out, png, js, err = _run_cli(*MOBILENET, tmp_path, capsys, "--max-samples", "120", "--objective", "size",
                            "--max-accuracy-drop", "2.0", "--calib-samples", "64", "--latency-samples", "2")
    assert "mobilenet_v2" in out and "flash_bytes" in out
    assert "36 samples, so one sample is 2.78 accuracy points" in err  # 120 x 0.3; budget 2
    _check_png(png)
    doc = _check_json(js, 2.0)
    sizes = [c["flash_bytes"] for c in doc["candidates"]]
    assert sizes == sorted(sizes)
    one_bit = next(c for c in doc["candidates"] if c["candidate"] == "1-bit hidden")
    assert one_bit["blob_bytes"] < min(c["blob_bytes"] for c in doc["candidates"] if c["candidate"].startswith("int8"))


@pytest.fixture(scope="module")
def digits_runs():
    kw = dict(max_samples=160, calib_samples=100, progress=False, max_accuracy_drop=0.5, latency_samples=2)
    return tradeoff(*DIGITS, jobs=1, **kw), tradeoff(*DIGITS, jobs=2, **kw)


def test_jobs_2_gives_the_same_table_as_jobs_1(digits_runs):
    one, two = digits_runs
    assert comparable_table(one.rows) == comparable_table(two.rows)
    assert one.mixed == two.mixed
    strip = [line.rsplit(None, 2)[0] for line in one.format().splitlines()[2:6]]
    assert strip == [line.rsplit(None, 2)[0] for line in two.format().splitlines()[2:6]]


def test_mixed_precision_meets_budget_on_its_validation_split(digits_runs):
    res, _ = digits_runs
    budget = res.mixed["max_accuracy_drop"]
    bits = res.mixed["layer_bits"]
    # rebuild the validation split independently and re-measure the chosen configuration
    full = load_eval_data(DIGITS[0], DIGITS[1], DIGITS[2], max_samples=160)
    from tinycnn.explorer.inputs import load_calib
    full.x_calib = load_calib(DIGITS[2], 100)
    val, test = split_validation(full, res.split["val_fraction"], res.split["seed"])
    assert len(val.x_test) == res.split["validation"] and len(test.x_test) == res.split["test"]
    r = evaluate_candidate(DIGITS[0], mixed_candidate(bits), val, latency_samples=1)
    assert r["accuracy_drop"] <= budget + 1e-9
    # the conservative rule: it changes at most `budget` % of the float model's predictions
    assert 100.0 - r["top1_agreement"] <= budget + 1e-9
    assert all(s["accuracy_drop"] <= budget + 1e-9 for s in res.mixed["steps"] if s["accepted"])
    # the held-back test accuracy is what the table reports for the mixed candidate
    row = next(x for x in res.rows if x["candidate"].startswith("mixed"))
    t = evaluate_candidate(DIGITS[0], mixed_candidate(bits), test, latency_samples=1)
    assert row["accuracy"] == t["accuracy"]


def test_infeasible_budget_is_reported_not_faked():
    res = tradeoff(*DIGITS, max_samples=120, calib_samples=60, progress=False, jobs=1, max_accuracy_drop=-50.0,
                   latency_samples=1, candidates=[Candidate("int8", "int8")])
    assert res.mixed["meets_budget"] is False
    assert set(res.mixed["layer_bits"].values()) == {"int16x8"}
    assert "NO configuration meets" in res.format()


def test_evaluate_candidate_is_pure():
    d = load_eval_data(DIGITS[0], DIGITS[1], DIGITS[2], max_samples=40)
    cand = Candidate("int8 mse", "int8", "mse")
    a, b = (evaluate_candidate(DIGITS[0], cand, d, latency_samples=1) for _ in range(2))
    a.pop("cpu_latency_ms"), b.pop("cpu_latency_ms")
    assert a == b
    assert isinstance(d, EvalData) and d.x_test.shape[0] == 40


def test_sensitivity_cli(tmp_path, capsys):
    png, js = tmp_path / "s.png", tmp_path / "s.json"
    assert main(["sensitivity", *DIGITS[:1], "--data", DIGITS[1], "--calib", DIGITS[2], "--max-samples", "120",
                 "--plot", str(png), "--json", str(js), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "most harmful first" in out
    _check_png(png)
    doc = json.loads(js.read_text())
    rows = doc["rows"]
    # every weighted layer -> int8, every binarizable hidden layer -> 1-bit, once each
    from tinycnn.convert import import_model
    from tinycnn.quant.binarize import default_binary_layers
    from tinycnn.explorer.candidates import weighted_layers
    fg = import_model(DIGITS[0])
    expected = sorted([(n, "int8") for n in weighted_layers(fg)] + [(n, "binary") for n in default_binary_layers(fg)])
    assert sorted((r["layer"], r["precision"]) for r in rows) == expected
    assert any(p == "binary" for _, p in expected)
    drops = [r["accuracy_drop"] for r in rows]
    assert drops == sorted(drops, reverse=True)
    worst_int8 = max(r["accuracy_drop"] for r in rows if r["precision"] == "int8")
    assert min(r["accuracy_drop"] for r in rows if r["precision"] == "binary") > worst_int8
