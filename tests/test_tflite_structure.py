"""Structurally valid .tflite flatbuffers whose contents lie (edited through the TFLite schema's
object API and re-packed) are refused with one line naming the operator, before any importer
handler indexes with the bad value (converters/tflite_format.py check_structure)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import flatbuffers
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from converters.tflite import load_tflite
from tinycnn.errors import TinyCNNError

SRC = Path(__file__).parent / "data" / "tflite" / "ds_cnn_kws.tflite"
ROOT = Path(__file__).resolve().parents[1]


def _conv(m, kind=3):  # first operator whose builtin code is `kind` (CONV_2D=3, DEPTHWISE=4, FC=9)
    for op in m.subgraphs[0].operators:
        c = m.operatorCodes[op.opcodeIndex]
        if max(c.builtinCode, c.deprecatedBuiltinCode) == kind:
            return op
    raise AssertionError(kind)


def _stride0(m):
    op = _conv(m)
    op.builtinOptions.strideW, op.builtinOptions.padding = 0, 0


def _dilation0(m):
    _conv(m, 4).builtinOptions.dilationHFactor = 0


def _input_oob(m):
    _conv(m).inputs[0] = 10_000


def _input_negative(m):
    _conv(m).inputs[0] = -5


def _weights_absent(m):
    _conv(m, 4).inputs[1] = -1


def _opcode_oob(m):
    _conv(m).opcodeIndex = 200


def _buffer_oob(m):
    m.subgraphs[0].tensors[_conv(m).inputs[1]].buffer = 10_000


def _graph_output_oob(m):
    m.subgraphs[0].outputs[0] = 9_999


def _writes_graph_input(m):
    op = _conv(m)
    op.outputs[0] = m.subgraphs[0].inputs[0]


def _writes_constant(m):
    op = _conv(m)
    op.outputs[0] = op.inputs[1]


def _weights_rank2(m):
    m.subgraphs[0].tensors[_conv(m, 4).inputs[1]].shape = [9, 16]


def _fc_weight_rank1(m):
    m.subgraphs[0].tensors[_conv(m, 9).inputs[1]].shape = [96]


def _activation_shape(m):
    sg = m.subgraphs[0]
    sg.tensors[_conv(m, 4).inputs[0]].shape = [2**20, 0, 3, 2**20]


def _negative_dim(m):
    sg = m.subgraphs[0]
    sg.tensors[_conv(m).outputs[0]].shape = [1, -1, 5, 16]


def _bias_length(m):  # the conv takes the FC's 6-value bias
    _conv(m).inputs[2] = _conv(m, 9).inputs[2]


CASES = {
    "stride0": (_stride0, "option StrideW=0; it must be >= 1"),
    "dilation0": (_dilation0, "option DilationHFactor=0"),
    "input_oob": (_input_oob, "input tensor index 10000 is outside"),
    "input_negative": (_input_negative, "input tensor index -5 is outside"),
    "weights_absent": (_weights_absent, "input 1 is absent (index -1)"),
    "opcode_oob": (_opcode_oob, "uses operator code 200, but the file defines"),
    "buffer_oob": (_buffer_oob, "buffer index 10000 is outside"),
    "graph_output_oob": (_graph_output_oob, "graph output is tensor 9999"),
    "writes_graph_input": (_writes_graph_input, "which is already a graph input"),
    "writes_constant": (_writes_constant, "which is a constant"),
    "weights_rank2": (_weights_rank2, "needs rank 4 there"),
    "fc_weight_rank1": (_fc_weight_rank1, "needs rank 2 there"),
    "activation_shape": (_activation_shape, "does not follow from input"),
    "negative_dim": (_negative_dim, "has a negative dimension"),
    "bias_length": (_bias_length, "bias shape (6,) does not match 16 output channels"),
}


def _mutant(tmp_path, edit) -> Path:
    m = fb.ModelT.InitFromPackedBuf(bytearray(SRC.read_bytes()), 0)
    edit(m)
    b = flatbuffers.Builder(1 << 16)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    p = tmp_path / "mutant.tflite"
    p.write_bytes(bytes(b.Output()))
    return p


def test_unmodified_fixture_passes_the_structure_check(tmp_path):
    assert load_tflite(_mutant(tmp_path, lambda m: None)).nodes


@pytest.mark.parametrize("case", sorted(CASES))
def test_lying_flatbuffer_is_refused_naming_the_operator(tmp_path, case):
    edit, fragment = CASES[case]
    path = _mutant(tmp_path, edit)
    with pytest.raises(TinyCNNError) as info:
        load_tflite(path)
    msg = str(info.value)
    assert fragment in msg, msg
    assert msg.startswith(str(path)) and "\n" not in msg


def test_cli_convert_gives_one_line_and_writes_nothing(tmp_path):
    path = _mutant(tmp_path, _stride0)
    out = tmp_path / "out.tcnn"
    r = subprocess.run([sys.executable, "-m", "tinycnn.cli", "convert", str(path), "-o", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "StrideW=0" in lines[0] and "CONV_2D" in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mutant.tflite"]
