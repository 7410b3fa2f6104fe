"""Validator limits: int32 accumulator bound (compiled == interpreted), size bounds, operand
dtypes, metadata depth. Also run with NUMBA_DISABLE_JIT=1 by `make test`."""
import numpy as np
import pytest

from tinycnn.blob.reader import graph_from_bytes
from tinycnn.blob.validate import parse_metadata, validate_graph
from tinycnn.blob.writer import graph_to_bytes
from tinycnn.errors import BlobError
from tinycnn.ir import Graph, QuantParams
from tinycnn.runtime import ExecutionPlan


def _fc(k, w_value=127, offset=128):
    g = Graph()
    g.add_tensor("x", (-1, k), "int8", quant=QuantParams([0.1], [-offset]))
    g.add_const("w", np.full((2, k), w_value, np.int8))
    g.add_const("b", np.array([5, -7], np.int32))
    g.add_tensor("y", (-1, 2), "int8", quant=QuantParams([1.0], [0]))
    g.inputs, g.outputs = ["x"], ["y"]
    g.add_node("fc", "FULLY_CONNECTED", ["x", "w", "b"], ["y"],
               {"input_offset": offset, "output_offset": 3, "act_min": -128, "act_max": 127},
               {"output_multiplier": np.full(2, 1 << 30, np.int32), "output_shift": np.full(2, -20, np.int32)})
    return g


def test_fc_whose_accumulator_can_overflow_int32_is_refused():
    with pytest.raises(BlobError, match="accumulator"):
        validate_graph(_fc(70000), "t")


def test_fc_at_the_int32_bound_matches_the_exact_definition():
    k = ((1 << 31) - 1 - 7) // (255 * 127)  # the largest K the bound accepts for these weights
    g = validate_graph(_fc(k), "t")
    x = np.full((1, k), 127, np.int8)  # x + offset = 255: the worst case
    plan = ExecutionPlan(g, 1)
    np.copyto(plan.buffers["x"], x)
    plan.run()
    acc = (x.astype(np.int64) + 128) @ np.full((k, 2), 127, np.int64) + np.array([5, -7])
    assert acc.max() <= (1 << 31) - 1
    # exact definition of MultiplyByQuantizedMultiplier(acc, 2^30, -20) = round(acc / 2^21)
    expected = np.clip(np.floor(acc / 2.0 ** 21 + 0.5) + 3, -128, 127).astype(np.int8)
    np.testing.assert_array_equal(plan.buffers["y"], expected)
    with pytest.raises(BlobError, match="accumulator"):
        validate_graph(_fc(k + 1), "t")


def test_huge_declared_tensor_is_a_blob_error():
    g = _fc(16)
    g.tensors["y"].shape = (-1, 1 << 20, 1 << 20)
    with pytest.raises(BlobError, match="larger than"):
        validate_graph(g, "t")


def test_lut_fed_int16_is_refused():
    g = Graph()
    g.add_tensor("x", (-1, 4), "int16", quant=QuantParams([0.1], [0]))
    g.add_tensor("y", (-1, 4), "int8", quant=QuantParams([0.1], [0]))
    g.inputs, g.outputs = ["x"], ["y"]
    g.add_node("lut", "LUT", ["x"], ["y"], {}, {"lut": np.zeros(256, np.int8)})
    with pytest.raises(BlobError, match="dtype int16"):
        graph_from_bytes(graph_to_bytes(g), "t")


def test_deep_metadata_is_a_blob_error_not_a_recursion_error():
    with pytest.raises(BlobError, match="nested"):
        parse_metadata(b"[" * 100000 + b"]" * 100000, "t")
    assert parse_metadata(b'{"a": "[[[[", "b": [[1]]}', "t") == {"a": "[[[[", "b": [[1]]}
