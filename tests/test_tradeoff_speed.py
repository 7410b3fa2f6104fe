"""What makes the explorer fast (issue 16 item 2) changes no number: the vectorized entropy
calibration equals its loop definition, the incremental calibration of binarized graphs equals
a full tinycnn.quant.calibrate run, the explorer's device costs equal firmware_sim.simulate on the
blob, the in-memory (quick) measurement equals the blob round trip, and the progress bars move
per job. Timings are in benchmarks/RESULTS.md (benchmarks/bench_tradeoff.py), never asserted."""
from __future__ import annotations

import numpy as np
import pytest

from tinycnn.convert import import_model, to_nhwc
from tinycnn.explorer.calib_cache import CalibrationCache
from tinycnn.explorer.candidates import Candidate, layer_options, mixed_candidate, weighted_layers
from tinycnn.explorer.evaluate import measure_candidate
from tinycnn.explorer.inputs import load_calib, load_eval_data
from tinycnn.explorer.sensitivity import baseline_bits
from tinycnn.quant import calibrate as C
from tinycnn.quant.binarize import binarize_layers, default_binary_layers

DIGITS = ("examples/digits_cnn.onnx", "examples/digits_test.npz", "examples/digits_calib.npz")


def entropy_loop_definition(s, lo, hi, bins=2048):
    """The original per-bucket loop (TensorRT-style KL threshold), kept as the oracle."""
    levels = 256 if lo >= 0 else 128
    a = np.abs(s)
    a = a[a > 0]
    if a.size == 0:
        return lo, hi
    amax = float(a.max())
    hist, edges = np.histogram(a, bins=bins, range=(0, amax))
    hist = hist.astype(np.float64)
    best_i, best_kl = bins, np.inf
    for i in range(levels, bins + 1, 16):
        ref = hist[:i].copy()
        ref[i - 1] += hist[i:].sum()
        chunks = np.array_split(hist[:i], levels)
        q = np.concatenate([np.where(c > 0, c.sum() / max((c > 0).sum(), 1), 0) for c in chunks])
        p = ref / ref.sum()
        qn = q / q.sum() if q.sum() else q
        mask = p > 0
        kl = float(np.sum(p[mask] * np.log(p[mask] / np.maximum(qn[mask], 1e-12))))
        if kl < best_kl:
            best_kl, best_i = kl, i
    t = float(edges[best_i]) if best_i < len(edges) else amax
    return max(lo, -t), min(hi, t)


@pytest.mark.parametrize("kind", ["normal", "relu", "heavy", "few-levels", "tiny"])
def test_entropy_range_equals_loop_definition(kind):
    rng = np.random.default_rng(7)
    s = {"normal": rng.standard_normal(20000), "relu": np.maximum(rng.standard_normal(20000), 0),
         "heavy": rng.laplace(size=3000) ** 3, "few-levels": rng.integers(0, 5, 3000).astype(float),
         "tiny": rng.standard_normal(7) * 1e-3}[kind].astype(np.float32)
    lo, hi = float(s.min()), float(s.max())
    assert C._entropy_range(s, lo, hi) == entropy_loop_definition(s, lo, hi)


@pytest.fixture(scope="module")
def digits():
    fg = import_model(DIGITS[0])
    data = load_eval_data(DIGITS[0], DIGITS[1], DIGITS[2], max_samples=40)
    data.x_calib = load_calib(DIGITS[2], 64)
    return fg, data


def test_incremental_calibration_equals_full_run(digits):
    fg, data = digits
    calib = [to_nhwc(fg, data.x_calib)]
    cache = CalibrationCache()
    base, full = cache.observer(fg, fg, (), calib), C.calibrate(fg, calib)
    for name in full.min:
        for method in C.METHODS:
            assert base.range(name, method) == full.range(name, method), (name, method)
    layers = default_binary_layers(fg)
    for binary in [(layers[0],), (layers[-1],), tuple(layers)]:
        g = binarize_layers(fg, list(binary))
        got, want = cache.observer(fg, g, binary, calib), C.calibrate(g, calib)
        for name in want.min:
            assert got.range(name) == want.range(name), (binary, name)
        last = list(want.min)[-1]  # other methods: a full run of the binarized graph
        assert got.range(last, "percentile") == want.range(last, "percentile")


def _candidates(fg):
    base = baseline_bits(layer_options(fg))
    binary = default_binary_layers(fg)
    return [Candidate("f", "float32"), Candidate("i8", "int8", "mse"), Candidate("t", "int8", per_channel=False),
            Candidate("w", "int16x8"), Candidate("b", "binary"),
            mixed_candidate({**base, weighted_layers(fg)[1]: "int8", binary[0]: "binary"})]


def test_device_costs_equal_firmware_sim_and_quick_equals_blob(digits, tmp_path):
    from firmware_sim import simulate
    from tinycnn.explorer.save import blob_filename
    fg, data = digits
    cal = {}
    for cand in _candidates(fg):
        full = measure_candidate(fg, cand, data, latency_samples=0, calibrations=cal, save_dir=tmp_path)
        quick = measure_candidate(fg, cand, data, latency_samples=0, calibrations=cal, quick=True)
        assert "error" not in full and "error" not in quick, (full, quick)
        rep = simulate(tmp_path / blob_filename(cand.name), "cortex-m4", check_budget=False, run=False)
        assert (full["peak_sram_bytes"], full["flash_bytes"], full["blob_bytes"], full["sim_cycles"]) == \
            (rep.peak_sram_bytes, rep.flash_bytes, rep.blob_bytes, int(rep.cycles)), cand.name
        for key in ("accuracy", "top1_agreement", "sqnr_db", "flash_bytes", "blob_bytes", "sim_cycles"):
            assert quick[key] == full[key], (cand.name, key)
        assert "peak_sram_bytes" not in quick


def test_sensitivity_progress_moves_per_layer(digits, capsys):
    from tinycnn.explorer.sensitivity import measure_sensitivity, sensitivity_items
    fg, data = digits
    n = len(sensitivity_items(layer_options(fg)))
    baseline, rows = measure_sensitivity(DIGITS[0], fg, data, jobs=1, progress=True)
    err = capsys.readouterr().err
    assert len(rows) == n and "error" not in baseline
    seen = {int(part.split("/")[0].split()[-1]) for part in err.replace("\r", "\n").split("\n")
            if "sensitivity (layer x precision)" in part and f"/{n + 1}" in part}
    assert len(seen & set(range(1, n + 1))) >= 2, err[-500:]  # the bar moved through intermediate counts
