"""`tinycnn emulate` (firmware_sim/emulate.py): the firmware built for a Cortex-M core runs under
qemu-system-arm and returns the Python runtime's outputs (itself tested against TFLite Micro);
the TCG plugin's per-layer instruction counts agree with QEMU's own instruction clock (SysTick
under -icount shift=0: 1 ns per instruction, 25 MHz -> 40 instructions per tick), follow from the
kernels' definition (one SMLAD per two MACs in the DSP conv), and are identical run to run."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import tinycnn
from firmware_sim import emulate as emu
from tests.conftest import ROOT
from tests.test_c_runtime import _blob

BOARDS = ROOT / "firmware_sim" / "c_runtime" / "boards"


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("emulate")
    blob, test = _blob("digits_example", tmp)
    return blob, np.asarray(test, np.float32)


def test_cli_outputs_counts_sizes_and_json(digits, tmp_path):
    blob, test = digits
    np.save(tmp_path / "x.npy", test)
    r = subprocess.run([sys.executable, "-m", "tinycnn.cli", "emulate", str(blob), "--target", "cortex-m4", "-i",
                        str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy"), "--json", str(tmp_path / "r.json")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "building for cortex-m4" in r.stderr and "qemu-system-arm -M mps2-an386" in r.stderr
    m = tinycnn.load(blob)
    want = m.run_quantized([m.quantize_input(m._to_nhwc(test, 0), 0)])[0]
    y = np.load(tmp_path / "y.npy")
    assert y.dtype == np.int8 and len(np.unique(y)) > 3
    np.testing.assert_array_equal(y, want)
    rep = json.loads((tmp_path / "r.json").read_text())
    assert [layer["op"] for layer in rep["layers"]] == [n.op.value for n in m.graph.nodes]
    for layer in rep["layers"]:
        assert sum(layer["classes"].values()) == layer["instructions"] > 0
        # the plugin's exact count vs QEMU's instruction clock read by the firmware (SysTick ticks
        # are 40 instructions each; the reads sit a few instructions inside the plugin's markers)
        assert abs(layer["instructions"] - 40 * layer["ticks"]) <= 2 * 40, layer
        if layer["op"] == "CONV_2D" and layer["name"].endswith("conv.6_Conv_output_0"):  # 1x1, K = 96
            assert layer["classes"]["dsp_mac"] >= layer["macs"] // 2  # SMLAD: two MACs each
        assert layer["classes"]["mve"] == 0
    assert 39.9 < rep["instructions_per_tick"] < 40.1
    # section sizes of the real build: the blob is const data in .rodata
    assert rep["sizes"]["rodata"] > blob.stat().st_size and rep["sizes"]["text"] > 4096
    assert rep["flash_bytes"] == rep["sizes"]["text"] + rep["sizes"]["rodata"] + rep["sizes"]["data"]
    from firmware_sim.export_c import c_runtime_arena_bytes
    assert 0 < rep["arena_high_water"] <= rep["arena_bytes"] == c_runtime_arena_bytes(blob.read_bytes())
    assert "instructions per inference" in r.stdout and "bit-identical" in r.stdout


def test_counts_are_identical_run_to_run_and_m55_counts_mve(digits, tmp_path):
    blob, test = digits
    a = emu.emulate(blob, "cortex-m55", inputs=test[:2], workdir=tmp_path / "a")
    b = emu.emulate(blob, "cortex-m55", inputs=test[:2], workdir=tmp_path / "b")
    assert a.matches_cpu and b.matches_cpu
    assert a.layers == b.layers and a.instructions_per_sample == b.instructions_per_sample
    assert len(a.instructions_per_sample) == 2
    assert sum(layer["classes"]["mve"] for layer in a.layers) > 0
    assert abs(a.instructions_per_tick - 1e9 / 32e6 / 1) < 0.05  # AN547: 32 MHz -> 31.25 instructions per tick


def test_missing_tool_names_its_debian_package(digits, monkeypatch):
    blob, _ = digits
    real = shutil.which
    for tool, package in (("qemu-system-arm", "qemu-system-arm"), ("arm-none-eabi-gcc", "gcc-arm-none-eabi")):
        monkeypatch.setattr(emu.shutil, "which", lambda name, t=tool: None if name == t else real(name))
        with pytest.raises(tinycnn.TinyCNNError, match=f"install the Debian package {package}"):
            emu.emulate(blob, "cortex-m4")
    monkeypatch.setattr(emu.shutil, "which", real)
    with pytest.raises(tinycnn.TinyCNNError, match="unknown emulation target"):
        emu.emulate(blob, "cortex-a53")


def test_board_makefile_machines_match_the_targets():
    text = (BOARDS / "Makefile").read_text()
    machines = dict(re.findall(r"^machine_(cortex-m\d+)\s*:=\s*(\S+)", text, re.M))
    assert machines == emu.TARGETS


def test_simulate_emulate_shows_measured_instructions(digits, tmp_path):
    blob, _ = digits
    r = subprocess.run([sys.executable, "-m", "tinycnn.cli", "simulate", str(blob), "--emulate", "--json",
                        str(tmp_path / "s.json")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "arena check on the host" in r.stdout and "measured insns" in r.stdout
    rep = json.loads((tmp_path / "s.json").read_text())
    assert rep["emulation"]["matches_cpu"] and rep["emulation"]["instructions"] > 0
    m = tinycnn.load(blob)
    assert sum(row["instructions"] for row in rep["rows"]) == rep["emulation"]["instructions"]
    assert len(rep["rows"]) == len(m.graph.nodes)
