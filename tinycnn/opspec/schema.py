"""The vocabulary of an op spec: operands, attributes, prepared parameters, kernel and variant.

An ``OpSpec`` is plain data. The validator (tinycnn/blob/validate.py), the kernel dispatch table
(tinycnn/kernels/registry.py) and the op table in docs/ops.md are all derived from the specs in
this package; see docs/ops.md for how to add an op.

Kernel binders and NumPy references are named as ``"module:function"`` strings and resolved on
first use, so no module has to be imported (or imported in a particular order) to register a
kernel.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

INT8, INT16, INT32, INT64, UINT32, FLOAT32 = "int8", "int16", "int32", "int64", "uint32", "float32"


@dataclass(frozen=True)
class Operand:
    """One input or output. ``dtypes``: allowed tensor dtypes. ``const``: True = must be a
    constant (weights), False = must be an activation, None = either. ``repeat``: this operand
    may appear 1..MAX_REPEAT times (CONCATENATION's inputs). ``optional``: may be absent ('')."""
    name: str
    dtypes: tuple
    const: bool | None = None
    optional: bool = False
    repeat: bool = False


@dataclass(frozen=True)
class Attr:
    """One attribute. kind: int, float, str, bool, ints (list of ``count`` ints), int_rows (list of
    ``count`` [a, b] int pairs; count 0 = one per input dimension), clamp ([lo|None, hi|None]).
    ``lo``/``hi`` bound every integer (or float) value; ``choices`` closes a str attribute;
    ``default`` is what the kernels use when the attribute is absent (required when None and not
    ``optional``)."""
    name: str
    kind: str
    lo: float | None = None
    hi: float | None = None
    count: int = 0
    choices: tuple = ()
    optional: bool = False


@dataclass(frozen=True)
class Param:
    """One prepared array in ``node.params``: dtype kinds accepted ('i' integer, 'f' float,
    or an exact dtype name) and its exact shape, each dimension an int or the name of a length
    rule in tinycnn/opspec/lengths.py (e.g. "out_channels"). ``lo``/``hi`` bound every value."""
    name: str
    kind: str
    shape: tuple
    lo: float | None = None
    hi: float | None = None
    optional: bool = False


@dataclass(frozen=True)
class Kernel:
    """Binders as "module:function". ``host``: the CPU runtime's binder; ``device``: the
    MCU-shaped binder firmware_sim uses (defaults to ``host``). None: the op has no integer
    kernel (float32 blobs run the NumPy float reference)."""
    host: str | None = None
    device: str | None = None

    def binder(self, device: bool) -> str | None:
        return (self.device or self.host) if device else self.host


@dataclass(frozen=True)
class OpSpec:
    op: str  # tinycnn.ir.Op value
    variant: str  # "" = the default int8 kernel; see variant_of()
    inputs: tuple
    outputs: tuple
    shape: str  # name of a shape rule in tinycnn/opspec/shapes.py
    attrs: tuple = ()
    params: tuple = ()
    kernel: Kernel = Kernel()
    reference: str | None = None  # "module:function" NumPy oracle
    cost: str = "elementwise"  # cycle-cost entry key (docs/cycle-model.md)
    checks: tuple = ()  # names of extra checks in tinycnn/opspec/checks.py
    doc: str = ""

    @property
    def key(self) -> tuple:
        return (self.op, self.variant)


def resolve(ref: str) -> Callable:
    """"module:function" -> the function (imported on first use)."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def variant_of(node, output_dtype: str) -> str:
    """The spec variant a node selects: its ``kernel_variant`` attribute if any, else its
    ``output_mode`` (1-bit ops, sign-fused CONV_2D), else "float32" for a float graph, else ""."""
    a = node.attrs
    v = a.get("kernel_variant")
    if v is not None:
        return v if isinstance(v, str) else repr(v)
    mode = a.get("output_mode")
    if mode is not None:
        return mode if isinstance(mode, str) else repr(mode)
    return "float32" if output_dtype == FLOAT32 else ""


@dataclass
class SpecTable:
    """All specs, keyed by (op, variant), plus ops that only exist between import and
    quantization (folded by passes; a blob never holds them)."""
    specs: dict = field(default_factory=dict)
    import_only: dict = field(default_factory=dict)  # op -> why

    def add(self, *specs):
        for s in specs:
            if s.key in self.specs:
                raise ValueError(f"duplicate op spec {s.key}")
            self.specs[s.key] = s

    def get(self, op: str, variant: str):
        return self.specs.get((op, variant))

    def variants(self, op: str) -> list:
        return sorted(v for (o, v) in self.specs if o == op)
