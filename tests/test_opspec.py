"""The op spec is the one contract: every Op has a spec (or is import-only), docs/ops.md is
generated from it, and every binder / reference it names exists."""
import inspect

from tinycnn.ir import Op
from tinycnn.opspec import TABLE, resolve
from tinycnn.opspec.checks import CHECKS, LENGTHS
from tinycnn.opspec.docs import DOC, render
from tinycnn.opspec.shapes import RULES


def test_every_op_has_a_spec_or_is_import_only():
    covered = {op for op, _ in TABLE.specs} | set(TABLE.import_only)
    assert {o.value for o in Op} - covered == set()


def test_docs_op_table_is_current():
    text = DOC.read_text()
    assert render(text) == text, "docs/ops.md is stale: run python -m tinycnn.opspec.docs"


def test_every_named_function_exists():
    for spec in TABLE.specs.values():
        assert spec.shape in RULES, spec.key
        assert all(c in CHECKS for c in spec.checks), spec.key
        for p in spec.params:
            assert all(isinstance(d, int) or d in LENGTHS for d in p.shape), spec.key
        for ref in (spec.kernel.host, spec.kernel.device, spec.reference):
            if ref is not None:
                fn = resolve(ref)
                assert callable(fn), (spec.key, ref)
        if spec.kernel.host is not None:  # binders take (graph, node, ins, out, scratch)
            assert len(inspect.signature(resolve(spec.kernel.host)).parameters) == 5, spec.key


def test_device_binder_differs_only_where_declared():
    """bconv no longer replaces the CONV_2D binder: int8 and packed CONV_2D are separate specs."""
    assert TABLE.get("CONV_2D", "").kernel.host.endswith("registry:bind_conv_host")
    assert TABLE.get("CONV_2D", "packed").kernel.host.endswith("bconv:bind_conv_packed")
    assert TABLE.get("CONV_2D", "").kernel.device.endswith("registry:bind_conv_device")
