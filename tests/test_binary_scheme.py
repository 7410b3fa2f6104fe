"""--scheme binary (post-training binarization of an ordinary float model) via the CLI."""
from __future__ import annotations

import subprocess
import sys

import tinycnn
from tinycnn.ir import Op

from tests.conftest import ROOT


def test_scheme_binary_cli_reports_cost(tmp_path):
    out = tmp_path / "d.tcnn"
    r = subprocess.run([sys.executable, "-m", "tinycnn.cli", "convert", str(ROOT / "examples" / "digits_cnn.onnx"),
                        "--calib", str(ROOT / "examples" / "digits_calib.npz"), "--scheme", "binary",
                        "-o", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "top-1 agreement with the float model" in r.stdout and "costs a lot of accuracy" in r.stdout
    g = tinycnn.load(out).graph
    ops = [n.op for n in g.nodes]
    assert ops[0] == Op.CONV_2D and ops[-1] == Op.FULLY_CONNECTED  # first/last stay int8
    assert Op.BINARY_CONV_2D in ops and Op.BINARY_FULLY_CONNECTED in ops


def test_scheme_binary_rejects_unknown_layer(tmp_path):
    r = subprocess.run([sys.executable, "-m", "tinycnn.cli", "convert", str(ROOT / "examples" / "digits_cnn.onnx"),
                        "--calib", str(ROOT / "examples" / "digits_calib.npz"), "--scheme", "binary",
                        "--binary-layers", "nope", "-o", str(tmp_path / "x.tcnn")],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode != 0 and "nope" in (r.stderr + r.stdout) and "candidates" in (r.stderr + r.stdout)
