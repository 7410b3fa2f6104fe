"""The planned arena for a TFLite Micro-compatible model is no larger than what TFLite Micro
itself allocates for the same .tflite.

TFLM's number: ``Interpreter.print_allocations()`` (tflite_micro.python.tflite_micro.runtime,
RecordingMicroAllocator) prints to the C stderr, among others,
    [RecordingMicroAllocator] Arena allocation head N bytes
The *head* is the non-persistent section TFLM's greedy memory planner lays out: activation
tensors and kernel scratch buffers. The *tail* (persistent: TfLiteEvalTensor structs, node
structs, per-channel quantization data) holds what tinycnn keeps in the blob in flash, so the
comparison is head vs firmware_sim's arena. The interpreter runs in a subprocess because the
report goes to the C-level stderr.
"""
from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

import tinycnn
from firmware_sim import simulate
from firmware_sim.device import plan_memory

from tests.conftest import DATA

# int8 fixtures TFLM runs (legacy_uint8 is refused by TFLM; float32 is not an int8 model)
MODELS = ["autoencoder", "ds_cnn_kws", "inception", "mobilenet_v1", "mobilenet_v2", "mobilenet_v3", "resnet",
          "misc_ops"]

_TFLM_REPORT = (
    "import sys\n"
    "from tflite_micro.python.tflite_micro import runtime as r\n"
    "i = r.Interpreter.from_file(sys.argv[1], arena_size=4_000_000,\n"
    "                            intrepreter_config=r.InterpreterConfig.kAllocationRecording)\n"
    "i.print_allocations()\n")


def tflm_head_bytes(path) -> int:
    res = subprocess.run([sys.executable, "-c", _TFLM_REPORT, str(path)], capture_output=True, text=True,
                         timeout=120)
    m = re.search(r"Arena allocation head (\d+) bytes", res.stderr + res.stdout)
    assert m, f"no TFLM allocation report for {path}: {res.stderr[-500:]}"
    return int(m.group(1))


@pytest.mark.parametrize("name", MODELS)
def test_planned_arena_not_above_tflm(name, tmp_path):
    src = DATA / "tflite" / f"{name}.tflite"
    x = np.load(DATA / "tflite" / f"{name}_data.npz")["x_test"][:4]
    blob = tinycnn.convert(src, calib=x, output=tmp_path / f"{name}.tcnn")
    arena = plan_memory(tinycnn.load(blob).graph).arena_bytes
    tflm = tflm_head_bytes(src)
    assert 0 < arena <= tflm, f"{name}: firmware_sim arena {arena} B > TFLM head {tflm} B"
    report = simulate(blob, "cortex-m4", inputs=x)
    assert report.matches_cpu is True and report.peak_sram_bytes == arena
