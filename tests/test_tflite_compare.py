"""`tinycnn compare`: identical models exit 0; a deliberately broken kernel is pinned to its layer."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tinycnn.cli import main
from tinycnn.ir import Op
from tinycnn.kernels import registry

DATA = Path(__file__).parent / "data" / "tflite"


def _input_file(tmp_path, name, n=2):
    x = np.load(DATA / f"{name}_data.npz")["x_test"][:n].astype(np.float32)
    p = tmp_path / "x.npy"
    np.save(p, x)
    return p


def test_compare_identical_exits_zero(tmp_path, capsys):
    rc = main(["compare", str(DATA / "mobilenet_v2.tflite"), "--input", str(_input_file(tmp_path, "mobilenet_v2")),
               "--samples", "2"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "all layers identical" in out and "reference: tflm" in out and "ADD" in out


def test_compare_uint8_uses_tflite_reference(tmp_path, capsys):
    rc = main(["compare", str(DATA / "legacy_uint8.tflite"), "--input", str(_input_file(tmp_path, "legacy_uint8", 1))])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "reference: tflite_ref" in out


def _off_by_one_lut(monkeypatch, victim_op_type):
    """A test double for one kernel: the LUT kernel of one op type rounds differently (+1 LSB)."""
    original = registry.bind_lut

    def broken(graph, node, ins, out, scratch):
        call = original(graph, node, ins, out, scratch)
        if node.attrs.get("tflite_op") != victim_op_type:
            return call

        def run():
            call()
            np.copyto(out, np.minimum(out.astype(np.int16) + 1, 127).astype(np.int8))
        return run
    monkeypatch.setattr(registry, "bind_lut", broken)


def test_compare_points_at_broken_layer(tmp_path, capsys, monkeypatch):
    from converters.tflite import load_tflite
    g = load_tflite(DATA / "misc_ops.tflite")
    tanh = next(n for n in g.nodes if n.attrs.get("tflite_op") == "TANH")
    _off_by_one_lut(monkeypatch, "TANH")
    rc = main(["compare", str(DATA / "misc_ops.tflite"), "--input", str(_input_file(tmp_path, "misc_ops", 1))])
    out = capsys.readouterr().out
    assert rc == 1, out
    first = out.strip().splitlines()[-1]
    assert first.startswith("first differing layer:") and "TANH" in first
    assert tanh.attrs["source_name"].split(";")[0][-20:] in first
    # layers before the broken one are reported identical
    rows = out.splitlines()
    tanh_row = next(i for i, r in enumerate(rows) if " TANH " in r)
    assert all(r.split()[-1].startswith("0/") for r in rows[3:tanh_row])


def test_compare_api_reports_lsb(monkeypatch):
    from tinycnn.compare import compare_tflite
    _off_by_one_lut(monkeypatch, "LOGISTIC")
    x = np.load(DATA / "autoencoder_data.npz")["x_test"][:1].astype(np.float32)
    c = compare_tflite(DATA / "autoencoder.tflite", x)
    assert not c.identical and c.unit == "LSB"
    assert c.first_difference.op == "LOGISTIC" and c.first_difference.max_abs_diff == 1
