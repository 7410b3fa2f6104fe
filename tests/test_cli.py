"""The CLI as a user runs it: convert -> info -> run -> eval, --help, and errors."""
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT, ort_run
from tinycnn.cli import main

EX = ROOT / "examples"


@pytest.fixture(scope="module")
def blob(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "digits.tcnn"
    assert main(["convert", str(EX / "digits_cnn.onnx"), "--calib", str(EX / "digits_calib.npz"),
                 "-o", str(out), "--quiet"]) == 0
    return out


def test_info_lists_layers_with_source_names(blob, capsys):
    assert main(["info", str(blob)]) == 0
    out = capsys.readouterr().out
    assert "CONV_2D" in out and "FULLY_CONNECTED" in out and "MACs" in out
    assert "/features/features.0/Conv" in out  # the ONNX node name
    assert "int8/ch" in out and "blob" in out


def test_run_writes_outputs_equal_to_api(blob, tmp_path, capsys):
    import tinycnn
    x = np.load(EX / "digits_test.npz")["x"][:20]
    np.save(tmp_path / "x.npy", x)
    assert main(["run", str(blob), "--input", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy")]) == 0
    y = np.load(tmp_path / "y.npy")
    np.testing.assert_array_equal(y, tinycnn.load(blob).run(x))
    # and the int8 result is close to ONNX Runtime's float result
    ref = ort_run(EX / "digits_cnn.onnx", x)
    assert np.mean(y.argmax(1) == ref.argmax(1)) >= 0.95


def test_eval_reports_accuracy_and_writes_json(blob, tmp_path, capsys):
    import json
    js = tmp_path / "m.json"
    assert main(["eval", str(blob), "-r", str(EX / "digits_cnn.onnx"), "-d", str(EX / "digits_test.npz"),
                 "--per-layer", "--json", str(js)]) == 0
    out = capsys.readouterr().out
    assert "top-1 accuracy" in out and "per-layer SQNR" in out
    m = json.loads(js.read_text())
    assert m["n"] == 360 and m["top1_agreement"] >= 0.98 and len(m["per_layer"]) >= 5


def test_convert_without_calibration_is_a_clear_error(tmp_path, capsys):
    assert main(["convert", str(EX / "digits_cnn.onnx"), "-o", str(tmp_path / "x.tcnn")]) == 2
    err = capsys.readouterr().err
    assert "calibration data" in err and "--calib" in err
    assert not (tmp_path / "x.tcnn").exists()


def test_corrupt_blob_gives_exit_2(blob, tmp_path, capsys):
    bad = tmp_path / "bad.tcnn"
    bad.write_bytes(blob.read_bytes()[:-10])
    assert main(["info", str(bad)]) == 2
    assert "truncated" in capsys.readouterr().err


def test_float32_scheme(tmp_path):
    import tinycnn
    out = tmp_path / "f.tcnn"
    assert main(["convert", str(EX / "digits_cnn.onnx"), "--scheme", "float32", "-o", str(out), "--quiet"]) == 0
    x = np.load(EX / "digits_test.npz")["x"][:30]
    np.testing.assert_allclose(tinycnn.load(out).run(x), ort_run(EX / "digits_cnn.onnx", x), rtol=1e-4, atol=1e-4)


def test_console_script_help_in_a_fresh_process():
    """`tinycnn --help` and `tinycnn convert --help` explain themselves."""
    exe = ROOT / ".venv" / "bin" / "tinycnn"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "tinycnn.cli"]
    out = subprocess.run(cmd + ["convert", "--help"], capture_output=True, text=True, check=True).stdout
    assert "--calib" in out and "per-channel" in out and "example" in out


def test_second_process_starts_warm(blob, tmp_path):
    """Numba's on-disk cache: a second `tinycnn run` process does not recompile (its
    kernels load from cache). Measured as the absence of compilation events, not time."""
    x = np.load(EX / "digits_test.npz")["x"][:4]
    np.save(tmp_path / "x.npy", x)
    code = ("import numba.core.event as ev, sys\n"
            "from tinycnn.cli import main\n"
            "class L(ev.Listener):\n"
            "    n = 0\n"
            "    def on_start(self, e): L.n += 1\n"
            "    def on_end(self, e): pass\n"
            "ev.register('numba:compile', L())\n"
            f"main(['run', r'{blob}', '--input', r'{tmp_path / 'x.npy'}'])\n"
            "print('COMPILES', L.n)\n")
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             cwd=ROOT).stdout
    assert "COMPILES 0" in out, out
