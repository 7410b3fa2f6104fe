"""One declarative spec per (op, variant): the single place an op's contract is written.

``TABLE.get(op, variant)`` gives the OpSpec; tinycnn/blob/validate.py checks a graph against
it, tinycnn/kernels/registry.py binds kernels from it and docs/ops.md is generated from it
(``python -m tinycnn.opspec.docs``). How to add an op: docs/ops.md.
"""
from __future__ import annotations

from tinycnn.opspec import float32, int8, uint8, variants
from tinycnn.opspec.schema import OpSpec, SpecTable, resolve, variant_of

TABLE = SpecTable(import_only={"BATCH_NORM": "folded into the preceding conv by tinycnn.passes"})
TABLE.add(*int8.SPECS, *variants.SPECS, *float32.SPECS)
TABLE.add(*uint8.SPECS)  # legacy uint8 TFLite (kernel variant "uint8")

__all__ = ["TABLE", "OpSpec", "resolve", "variant_of"]
