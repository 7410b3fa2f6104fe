"""Larq QuantConv2D / QuantDense (tests/data/bnn/larq_digits.h5, read without Larq/TensorFlow)
against the fixture's saved reference outputs (Larq inference semantics), float and 1-bit."""
from __future__ import annotations

import numpy as np

import tinycnn
from tinycnn.convert import convert, import_model
from tinycnn.ir import Op
from tinycnn.reference.float_ops import run_float

from tests.conftest import DATA

LARQ = DATA / "bnn" / "larq_digits.h5"


def test_larq_float_import_matches_reference():
    d = np.load(DATA / "bnn" / "larq_digits_data.npz")
    g = import_model(LARQ)
    ops = [n.op for n in g.nodes]
    assert ops.count(Op.BINARY_CONV_2D) == 1 and ops.count(Op.BINARY_FULLY_CONNECTED) == 1
    assert ops[0] == Op.CONV_2D  # float input x binary weights stays an ordinary conv
    assert next(n for n in g.nodes if n.op == Op.BINARY_CONV_2D).attrs["pad_mode"] == "one"
    y = run_float(g, [d["x_test"]])[0]
    np.testing.assert_allclose(y, d["y_ref"], atol=1e-5)


def test_larq_binary_blob(tmp_path):
    d = np.load(DATA / "bnn" / "larq_digits_data.npz")
    blob = convert(LARQ, calib=d["x_test"][:200], output=tmp_path / "larq.tcnn")
    model = tinycnn.load(blob)
    assert {n.op for n in model.graph.nodes} >= {Op.BINARY_CONV_2D, Op.BINARY_FULLY_CONNECTED,
                                                  Op.BINARY_MAX_POOL_2D}
    y = model.run(d["x_test"])
    agreement = np.mean(y.argmax(1) == d["y_ref"].argmax(1))
    acc, acc_ref = np.mean(y.argmax(1) == d["y_test"]), np.mean(d["y_ref"].argmax(1) == d["y_test"])
    assert agreement >= 0.99, agreement
    assert abs(acc - acc_ref) <= 0.01, (acc, acc_ref)
