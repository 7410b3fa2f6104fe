"""ONNX graphs that break the IR's naming rules (values defined twice, undefined inputs, cycles,
nodes out of topological order) are refused with one line naming the node and the value. The
ONNX checker is the independent oracle that each mutant is indeed invalid."""
from __future__ import annotations

import copy
from pathlib import Path

import onnx
import pytest

from converters.onnx import load_onnx
from tinycnn.errors import TinyCNNError

SRC = Path(__file__).parent / "data" / "onnx" / "mobilenet_v1.onnx"


def _dup_output(g):
    g.node[2].output[0] = g.node[1].output[0]


def _self_cycle(g):
    g.node[1].input[0] = g.node[1].output[0]


def _long_cycle(g):  # node 1 reads the last node's output, which depends on node 1
    g.node[1].input[0] = g.node[len(g.node) - 1].output[0]


def _unsorted(g):
    n = g.node[1]
    g.node.remove(n)
    g.node.insert(len(g.node) - 1, n)


def _writes_initializer(g):
    g.node[1].output[0] = g.initializer[0].name


def _dup_input(g):
    g.input.append(copy.deepcopy(g.input[0]))


def _dup_initializer(g):
    g.initializer.append(copy.deepcopy(g.initializer[0]))


def _undefined_input(g):
    g.node[0].input[0] = "does_not_exist"


CASES = {
    "dup_output": (_dup_output, "which is already defined by node"),
    "self_cycle": (_self_cycle, "is part of a cycle"),
    "long_cycle": (_long_cycle, "is part of a cycle"),
    "unsorted": (_unsorted, "not in the topological order ONNX requires"),
    "writes_initializer": (_writes_initializer, "which is already defined by an initializer"),
    "dup_input": (_dup_input, "graph input 'input' is declared twice"),
    "dup_initializer": (_dup_initializer, "is defined twice"),
    "undefined_input": (_undefined_input, "reads 'does_not_exist', which no node, graph input or initializer defines"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_invalid_names_are_refused_in_one_line(tmp_path, case):
    edit, fragment = CASES[case]
    m = onnx.load(str(SRC))
    edit(m.graph)
    with pytest.raises(Exception):  # the oracle: the ONNX checker calls the mutant invalid
        onnx.checker.check_model(m, full_check=True)
    path = tmp_path / "m.onnx"
    onnx.save(m, str(path))
    with pytest.raises(TinyCNNError) as info:
        load_onnx(path)
    msg = str(info.value)
    assert fragment in msg and "\n" not in msg and msg.startswith(str(path)), msg


def test_valid_fixture_passes_both(tmp_path):
    m = onnx.load(str(SRC))
    onnx.checker.check_model(m, full_check=True)
    assert load_onnx(SRC).nodes
