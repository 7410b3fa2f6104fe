"""The exported project built for the emulated boards (firmware_sim/c_runtime/boards): Cortex-M4
(mps2-an386, DSP paths) and Cortex-M55 (mps3-an547, MVE paths) under qemu-system-arm are bit-exact
with the Python runtime (itself tested against TFLite Micro / tflite-runtime) on fixture models, and
the SysTick counts per op under -icount shift=0 are identical run to run."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

import tinycnn
from tests.test_c_runtime import _blob, _expected, _inputs

MACHINES = {"cortex-m4": "mps2-an386", "cortex-m55": "mps3-an547"}


def _run_board(blob, target, xs, tmp_path):
    from firmware_sim.export_c import export_project
    assert shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm"), "make firmware-tools installs them"
    proj = export_project(blob, tmp_path / f"proj_{target}")
    subprocess.run(["make", "-s", "-C", str(proj), f"TARGET={target}"], check=True, capture_output=True, timeout=300)
    n = len(xs[0])
    (proj / "in.bin").write_bytes(b"".join(x[k].tobytes() for k in range(n) for x in xs))
    r = subprocess.run(["qemu-system-arm", "-M", MACHINES[target], "-nographic", "-monitor", "none", "-serial", "null",
                        "-icount", "shift=0", "-semihosting-config", "enable=on,target=native",
                        "-kernel", f"build/{target}/model.elf"], cwd=proj, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    ticks = [line for line in (proj / "layers.txt").read_text().splitlines() if line.startswith("ticks ")]
    return np.fromfile(proj / "out.bin", np.uint8), ticks


@pytest.mark.parametrize("target", sorted(MACHINES))
@pytest.mark.parametrize("name", ["digits_example", "bnn", "tflite_ds_cnn_kws", "int16x8_mobilenet_v2"])
def test_board_build_is_bit_exact_with_the_python_runtime(name, target, tmp_path):
    blob, test = _blob(name, tmp_path)
    m = tinycnn.load(blob)
    xs = _inputs(m, test)
    got, ticks = _run_board(blob, target, xs, tmp_path)
    np.testing.assert_array_equal(got, _expected(m, xs))
    assert len(ticks) == len(xs[0]) * len(m.graph.nodes)


def test_op_tick_counts_are_identical_run_to_run(tmp_path):
    blob, test = _blob("digits_example", tmp_path)
    m = tinycnn.load(blob)
    xs = _inputs(m, test)
    _, first = _run_board(blob, "cortex-m4", xs, tmp_path / "a")
    _, second = _run_board(blob, "cortex-m4", xs, tmp_path / "b")
    assert first == second and sum(int(t.split()[3]) for t in first) > 0
