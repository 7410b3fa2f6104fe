"""--help says what a user needs (issue 16 item 6): simulate's default target, compare
--reference, run --batch-size; a missing tflite-runtime side venv names the variable to set."""
from __future__ import annotations

import pytest

from tinycnn.cli import build_parser


def _help(capsys, *cmd):
    with pytest.raises(SystemExit):
        build_parser().parse_args([*cmd, "--help"])
    return " ".join(capsys.readouterr().out.split())


def test_simulate_help_states_the_default_target(capsys):
    from firmware_sim.targets import get_target
    text = _help(capsys, "simulate")
    assert "default: cortex-m4" in text
    assert build_parser().parse_args(["simulate", "x.tcnn"]).target == "cortex-m4"
    get_target("cortex-m4", None, None)  # the default named in --help exists


def test_compare_reference_and_run_batch_size_have_help(capsys):
    text = _help(capsys, "compare")
    assert "--reference {auto,tflm,tflite_ref}" in text and "TFLite Micro" in text and "default: auto" in text
    text = _help(capsys, "run")
    assert "--batch-size BATCH_SIZE" in text and "default: 256" in text


def test_missing_side_venv_names_the_environment_variable(monkeypatch, tmp_path):
    from tinycnn.oracles import tflite_ref
    monkeypatch.delenv(tflite_ref.ENV_VAR, raising=False)
    monkeypatch.setattr(tflite_ref, "_DEFAULT", tmp_path / "missing" / "python")
    assert not tflite_ref.available()
    with pytest.raises(FileNotFoundError, match="TINYCNN_TFLITE_REF_PYTHON="):
        tflite_ref.run("model.tflite", [])
    assert "TINYCNN_TFLITE_REF_PYTHON=" in tflite_ref.INSTALL_HINT  # embedded in compare/eval errors


def test_convert_help_offers_int16x8_and_from_tradeoff(capsys):
    text = _help(capsys, "convert")
    assert "int16x8" in text and "--from-tradeoff JSON" in text and "--pick NAME" in text
    text = _help(capsys, "tradeoff")
    assert "--save DIR" in text and "auto" in text
