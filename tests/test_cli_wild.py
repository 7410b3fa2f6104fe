"""Small things a new user hits (issue 10 items 2 and 9, issue 17 item 4): convert reads back
what it writes, notes on ignored options, `info | head`, row widths, one layer name in every
table, ONNX inputs shown in NCHW."""
import subprocess
import sys

import numpy as np
import pytest

import tinycnn
from converters.tflite import load_tflite
from tests.conftest import DATA, ROOT
from tinycnn.cli import main
from tinycnn.errors import TinyCNNError
from tinycnn.ir import QuantParams

TFL = DATA / "tflite"
EX = ROOT / "examples"


@pytest.fixture(scope="module")
def digits_blob(tmp_path_factory):
    out = tmp_path_factory.mktemp("wild_cli") / "digits.tcnn"
    assert main(["convert", str(EX / "digits_cnn.onnx"), "--calib", str(EX / "digits_calib.npz"),
                 "-o", str(out), "--quiet"]) == 0
    return out


def test_inconsistent_graph_is_a_tinycnn_bug_and_nothing_is_written(tmp_path):
    g = load_tflite(TFL / "mobilenet_v1.tflite")
    w = next(t for t in g.tensors.values() if t.is_const and t.quant is not None and t.quant.per_channel)
    w.quant = QuantParams(w.quant.scale[:-1], w.quant.zero_point[:-1], w.quant.axis)  # one scale short
    out = tmp_path / "bad.tcnn"
    with pytest.raises(TinyCNNError) as exc:
        tinycnn.convert(TFL / "mobilenet_v1.tflite", graph=g, output=out)
    msg = str(exc.value)
    assert "internal error in tinycnn" in msg and f"'{w.name}'" in msg and "nothing was written" in msg
    assert str(tmp_path) not in msg.split("nothing was written")[0]  # the output path is not blamed
    assert list(tmp_path.iterdir()) == []  # no blob, no temp file


def test_calib_for_a_quantized_tflite_is_noted(tmp_path, capsys):
    assert main(["convert", str(TFL / "resnet.tflite"), "--calib", str(TFL / "resnet_data.npz"),
                 "-o", str(tmp_path / "r.tcnn"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "tinycnn: note:" in err and "calibration data ignored" in err and "already quantized" in err


def test_info_into_a_closed_pipe_has_no_traceback(digits_blob):
    for cmd in (["info", str(digits_blob)], ["--help"]):
        p = subprocess.Popen([sys.executable, "-m", "tinycnn.cli", *cmd], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, cwd=ROOT)
        p.stdout.close()  # like `| head` exiting before the output is written
        err = p.stderr.read().decode()
        p.wait(timeout=120)
        assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_info_rows_are_bounded_and_names_match_simulate(tmp_path, capsys):
    blob = tmp_path / "m.tcnn"
    assert main(["convert", str(TFL / "mobilenet_v3.tflite"), "-o", str(blob), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["info", str(blob)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 160
    rows = tinycnn.info(blob)["rows"]
    assert all(";" not in r["name"] and len(r["name"]) <= 48 for r in rows)
    fused = [n for n in load_tflite(TFL / "mobilenet_v3.tflite").nodes if ";" in n.attrs.get("source_name", "")]
    assert fused  # the fixture has the long fused TFLite names this is about
    report = tinycnn.simulate(blob, "cortex-m4")
    assert sorted(r["layer"] for r in report.rows) == sorted(r["name"] for r in rows)
    assert report.peak_layer in {r["name"] for r in rows}


def test_info_shows_onnx_input_in_nchw(digits_blob, capsys):
    assert main(["info", str(digits_blob)]) == 0
    out = capsys.readouterr().out
    x = np.load(EX / "digits_test.npz")["x"]
    assert f"[N, {x.shape[1]}, {x.shape[2]}, {x.shape[3]}] (NCHW)" in out
    tinycnn.load(digits_blob).run(x[:2])  # the layout shown is the layout run takes
