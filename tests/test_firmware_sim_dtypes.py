"""Dtype-aware cycle model (firmware_sim/cycles.py, docs/cycle-model.md): 16x8 layers cost more
than int8 on Cortex-M4 and not less anywhere; float32 blobs simulate, are far slower than int8
on the FPU-less Cortex-M0+; rows name the dtype class; the class comes from tensor dtypes."""
from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import numpy as np
import pytest

import tinycnn
from firmware_sim import simulate
from firmware_sim.cycles import dtype_class
from firmware_sim.targets import load_targets
from tests.conftest import DATA
from tinycnn.blob.writer import write_blob
from tinycnn.convert import import_model, to_nhwc
from tinycnn.ir import Op
from tinycnn.quant.calibrate import calibrate
from tinycnn.quant.int8 import QuantConfig, quantize_int8
from tinycnn.quant.int16x8 import wideable_layers, widen_int16x8

MAC = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}
TARGETS = sorted(load_targets())


@functools.lru_cache(maxsize=None)
def blobs(name="mobilenet_v2") -> dict:
    """int8, 16x8 (every weighted layer) and float32 blobs of one ONNX fixture."""
    d = Path(tempfile.mkdtemp(prefix="fwsim_dtypes_"))
    onnx_path = DATA / "onnx" / f"{name}.onnx"
    z = np.load(DATA / "onnx" / f"{name}_data.npz")
    g = import_model(onnx_path)
    obs = calibrate(g, [to_nhwc(g, z["x_calib"][:40])])
    q8 = quantize_int8(g, obs, QuantConfig())
    q16 = widen_int16x8(q8, g, obs, wideable_layers(q8))
    out = {}
    for key, graph in (("int8", q8), ("16x8", q16)):
        out[key] = d / f"{key}.tcnn"
        write_blob(graph, out[key])
    out["float32"] = tinycnn.convert(onnx_path, scheme="float32", output=d / "f32.tcnn")
    return out


@pytest.mark.parametrize("target", TARGETS)
def test_16x8_costs_more_on_m4_and_never_less(target):
    b = blobs()
    r8 = simulate(b["int8"], target, run=False, check_budget=False)
    r16 = simulate(b["16x8"], target, run=False, check_budget=False)
    assert {row["dtype"] for row in r8.rows} == {"int8"}
    wide = [row for row in r16.rows if row["op"] in MAC]
    assert wide and all(row["dtype"] == "16x8" and "16x8" in row["kernel"] for row in wide)
    if target == "cortex-m4":
        assert r16.cycles > 1.05 * r8.cycles
    assert r16.cycles >= r8.cycles
    # layer by layer as well: every weighted layer is at least its int8 cost
    c8 = {row["layer"]: row["cycles"] for row in r8.rows}
    for row in wide:
        if row["layer"] in c8:
            assert row["cycles"] >= c8[row["layer"]], row


def test_16x8_device_run_still_matches_cpu():
    r = simulate(blobs()["16x8"], "cortex-m4")
    assert r.matches_cpu is True


@pytest.mark.parametrize("target", TARGETS)
def test_float32_blob_simulates(target):
    b = blobs()
    rf = simulate(b["float32"], target, check_budget=False)
    r8 = simulate(b["int8"], target, run=False, check_budget=False)
    assert rf.matches_cpu is None and "skipped" in rf.run_note
    assert {row["dtype"] for row in rf.rows} == {"float32"}
    assert all("float32" in row["kernel"] for row in rf.rows if row["op"] in MAC)
    if target != "host":  # host: int8 charges this small model's short reductions at the scalar rate
        assert rf.cycles > r8.cycles > 0
    # float activations are 4 bytes: the arena is larger than the int8 one
    assert rf.peak_sram_bytes > r8.peak_sram_bytes
    assert "float32" in rf.format() and "dtype" in rf.format()


def test_float32_on_m0plus_is_much_slower_than_int8():
    b = blobs()
    rf = simulate(b["float32"], "cortex-m0plus", run=False, check_budget=False)
    r8 = simulate(b["int8"], "cortex-m0plus", run=False, check_budget=False)
    assert rf.latency_ms > 8 * r8.latency_ms
    # a core with an FPU narrows the gap
    f4 = simulate(b["float32"], "cortex-m4", run=False, check_budget=False)
    i4 = simulate(b["int8"], "cortex-m4", run=False, check_budget=False)
    assert f4.latency_ms / i4.latency_ms < rf.latency_ms / r8.latency_ms


def test_dtype_class_reads_tensor_dtypes_not_names():
    g = tinycnn.load(blobs()["16x8"]).graph
    for n in g.nodes:
        if n.op in (Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.FULLY_CONNECTED):
            assert dtype_class(g, n) == "16x8"
            # same node read as int8 once its activation input is int8
            g2 = g.copy()
            g2.tensors[g2.activation_inputs(n)[0]].dtype = "int8"
            assert dtype_class(g2, n) == "int8"
            n.attrs["kernel_variant"] = "int16x8"  # a name/attr alone does not make it 16x8
            assert dtype_class(g2, n) == "int8"
            break
    gf = tinycnn.load(blobs()["float32"]).graph
    assert {dtype_class(gf, n) for n in gf.nodes} == {"float32"}


def test_user_target_without_dtype_keys_gets_defaults(tmp_path):
    f = tmp_path / "t.toml"
    m4 = load_targets()["cortex-m4"]
    keys = {k: v for k, v in m4.cost.items() if not k.startswith(("int16x8_", "float_"))}
    body = "\n".join(f"{k} = {v}" for k, v in keys.items())
    f.write_text(f'name = "bare"\ncore = "x"\nclock_mhz = 80\nsram_kib = 320\nflash_kib = 1024\n[cost]\n{body}\n')
    t = load_targets(f)["bare"]
    assert t.cost["float_cycles_per_mac"] > 0 and t.cost["int16x8_requant_cycles_per_output"] > 0
    r = simulate(blobs()["float32"], t, run=False, check_budget=False)
    assert r.cycles > 0
