"""Semantic validation of a graph read from a blob, derived from the op specs (tinycnn/opspec):
everything a kernel relies on is checked before any kernel runs, so a crafted blob whose
checksum is right cannot crash the runtime. Every failure is a BlobError naming the node and op.

- sizes: every dimension >= 1 (batch -1), each tensor <= MAX_TENSOR_ELEMENTS, all activations
  together <= MAX_ARENA_BYTES at batch 1; metadata depth bounded (reader);
- order: inputs are graph inputs, constants or outputs of earlier nodes; each tensor written once;
- per node, from its (op, variant) spec: operand count, dtypes and constness; attributes'
  types and ranges (closed sets for strings such as kernel_variant / output_mode); prepared
  parameters' dtype, exact shape and value ranges; the output shape recomputed; extra checks
  (activation range, fixed-point multiplier/shift ranges, int32 accumulator bound, ...);
- quantization: one scale per tensor or one per channel along a valid axis, finite and > 0.
"""
from __future__ import annotations

import json
import math

import numpy as np

from tinycnn.errors import BlobError
from tinycnn.ir import Graph
from tinycnn.opspec import TABLE, variant_of
from tinycnn.opspec.checks import CHECKS, LENGTHS, Context
from tinycnn.opspec.shapes import RULES, Invalid, need

MAX_TENSOR_ELEMENTS = 1 << 26  # 64 Mi elements: far above any MCU model, far below a MemoryError
MAX_ARENA_BYTES = 1 << 30  # every activation of one sample together
MAX_REPEAT = 1024  # inputs of one CONCATENATION
_KINDS = {"i": "iu", "f": "f"}


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _in(v, attr):
    return (attr.lo is None or v >= attr.lo) and (attr.hi is None or v <= attr.hi)


def _check_attr(a, v):
    k = a.kind
    if k == "int":
        ok = _is_int(v) and _in(v, a)
    elif k == "float":
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and _in(v, a)
    elif k == "str":
        ok = isinstance(v, str) and (not a.choices or v in a.choices)
    elif k == "bool":
        ok = isinstance(v, bool)
    elif k == "ints":
        ok = isinstance(v, list) and (not a.count or len(v) == a.count) and len(v) <= 6 and \
            all(_is_int(e) and _in(e, a) for e in v)
    elif k == "int_rows":
        ok = isinstance(v, list) and len(v) <= 6 and all(
            isinstance(r, list) and len(r) == 2 and all(_is_int(e) and _in(e, a) for e in r) for r in v)
    elif k == "clamp":
        ok = v is None or (isinstance(v, list) and len(v) == 2 and all(
            e is None or (isinstance(e, (int, float)) and not isinstance(e, bool) and not math.isnan(e)) for e in v))
    else:
        raise AssertionError(f"unknown attribute kind {k}")
    bound = f" in [{a.lo}, {a.hi}]" if a.lo is not None else ""
    choices = f" one of {list(a.choices)}" if a.choices else ""
    need(ok, f"attribute '{a.name}' must be {k}{bound}{choices}, got {v!r}"[:300])


def _operands(g, node, spec):
    """Match node.inputs to the spec's operands; returns (input shapes, dtype errors checked)."""
    ops = spec.inputs
    if len(ops) == 1 and ops[0].repeat:
        need(1 <= len(node.inputs) <= MAX_REPEAT and all(node.inputs), f"takes 1-{MAX_REPEAT} inputs")
        pairs = [(ops[0], n) for n in node.inputs]
    else:
        required = sum(not o.optional for o in ops)
        need(required <= len(node.inputs) <= len(ops), f"takes {required}-{len(ops)} inputs, got {len(node.inputs)}")
        pairs = list(zip(ops, node.inputs))
    shapes = []
    for o, name in pairs:
        if not name:
            need(o.optional, f"input '{o.name}' is required")
            shapes.append(None)
            continue
        t = g.tensors[name]
        need(t.dtype in o.dtypes, f"input '{o.name}' has dtype {t.dtype}; supported: {', '.join(o.dtypes)}")
        need(o.const is None or o.const == t.is_const,
             f"input '{o.name}' must be {'a constant' if o.const else 'an activation'}")
        shapes.append(t.concrete_shape(1))
    need(len(node.outputs) == len(spec.outputs), f"has {len(node.outputs)} outputs, expected {len(spec.outputs)}")
    for o, name in zip(spec.outputs, node.outputs):
        t = g.tensors[name]
        need(not t.is_const, f"output '{name}' is a constant")
        need(t.dtype in o.dtypes, f"output has dtype {t.dtype}; supported: {', '.join(o.dtypes)}")
    return shapes


def _params(node, spec, ctx):
    for p in spec.params:
        v = node.params.get(p.name)
        if v is None:
            need(p.optional, f"prepared parameter '{p.name}' is missing")
            continue
        need(isinstance(v, np.ndarray), f"param '{p.name}' is not an array")
        need(v.dtype.kind in _KINDS.get(p.kind, "") or v.dtype.name == p.kind,
             f"param '{p.name}' has dtype {v.dtype}, expected {p.kind}")
        shape = tuple(d if isinstance(d, int) else LENGTHS[d](ctx) for d in p.shape)
        need(v.shape == shape, f"param '{p.name}' has shape {v.shape}, expected {shape}")
        if v.dtype.kind == "f":
            need(bool(np.all(np.isfinite(v))), f"param '{p.name}' has non-finite values")
        if v.size and (p.lo is not None or p.hi is not None):
            need((p.lo is None or v.min() >= p.lo) and (p.hi is None or v.max() <= p.hi),
                 f"param '{p.name}' values outside [{p.lo}, {p.hi}]")


def check_node(g: Graph, node) -> None:
    out_t = g.tensors[node.outputs[0]] if node.outputs else None
    need(out_t is not None, "has no output")
    # int32 index outputs (ARG_MAX/ARG_MIN) take the variant of their input's dtype
    sel = g.tensors[node.inputs[0]].dtype if out_t.dtype == "int32" and node.inputs else out_t.dtype
    variant = variant_of(node, sel)
    spec = TABLE.get(node.op.value, variant)
    if spec is None:
        known = ", ".join(repr(v) for v in TABLE.variants(node.op.value)) or "none"
        raise Invalid(f"no kernel for variant {variant!r} (output {out_t.dtype}); supported variants: {known}")
    quantized = bool(g.inputs) and g.tensors[g.inputs[0]].dtype != "float32"
    need((spec.kernel.host is not None) == quantized,
         f"a {'quantized' if quantized else 'float32'} graph cannot hold a {variant or 'int8'} node")
    shapes = _operands(g, node, spec)
    for a in spec.attrs:
        if a.name in node.attrs:
            _check_attr(a, node.attrs[a.name])
        else:
            need(a.optional, f"attribute '{a.name}' is missing")
    out = out_t.concrete_shape(1)
    ctx = Context(g, node, spec, shapes, out)
    expected = RULES[spec.shape](shapes, node.attrs)
    if expected is None:  # RESHAPE: same element count
        need(math.prod(out) == math.prod(shapes[0]), f"reshape {shapes[0]} -> {out} changes the size")
    else:
        need(tuple(out) == tuple(expected), f"declared output shape {out} but the op produces {tuple(expected)}")
    _params(node, spec, ctx)
    for name in spec.checks:
        CHECKS[name](ctx)


def _check_tensors(g, path):
    arena = 0
    for t in g.tensors.values():
        dims = t.shape
        ok = len(dims) <= 6 and all(_is_int(d) and (d >= 1 or (i == 0 and d == -1)) for i, d in enumerate(dims))
        if ok and not t.is_const and (not dims or dims[0] != -1):
            # plans size every activation for the batch they run (dims[0] = -1); a fixed leading
            # dimension would make a kernel read a larger input than its planned buffers
            raise BlobError(f"{path}: activation tensor '{t.name}' has shape {list(dims)}; activation "
                            "shapes start with the batch dimension -1")
        n = math.prod(t.concrete_shape(1)) if ok else 0
        if not ok or n > MAX_TENSOR_ELEMENTS:
            raise BlobError(f"{path}: tensor '{t.name}': shape {list(dims)} is invalid or larger than "
                            f"{MAX_TENSOR_ELEMENTS} elements")
        if not t.is_const:
            arena += n * np.dtype(t.dtype).itemsize
        if t.quant is not None:
            q, k = t.quant, len(t.quant.scale)
            fits = (k == len(q.zero_point)) and (k == 1 or (q.axis is not None and 0 <= q.axis < len(dims)
                                                            and k == t.concrete_shape(1)[q.axis]))
            if not fits or not np.all(np.isfinite(q.scale)) or not np.all(q.scale > 0):
                raise BlobError(f"{path}: tensor '{t.name}': {k} quantization scale(s) do not fit shape "
                                f"{list(dims)} (axis {q.axis}) or are not finite and positive")
    if arena > MAX_ARENA_BYTES:
        raise BlobError(f"{path}: activations need {arena} bytes per sample (limit {MAX_ARENA_BYTES})")


MAX_METADATA_DEPTH = 32


def parse_metadata(raw: bytes, path):
    """The JSON metadata section, refused (BlobError) when invalid or nested deeper than
    MAX_METADATA_DEPTH (checked on the bytes before parsing: no RecursionError)."""
    depth = deepest = 0
    in_string = escaped = False
    for c in raw:
        if in_string:
            escaped, in_string = (not escaped and c == 0x5C), in_string and (escaped or c != 0x22)
        elif c == 0x22:
            in_string = True
        elif c in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif c in (0x5D, 0x7D):
            depth -= 1
    if deepest > MAX_METADATA_DEPTH:
        raise BlobError(f"{path}: metadata nested {deepest} deep (limit {MAX_METADATA_DEPTH})")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BlobError(f"{path}: metadata section is not valid JSON") from exc


def validate_graph(g: Graph, path) -> Graph:
    _check_tensors(g, path)
    available = set(g.inputs) | {k for k, t in g.tensors.items() if t.is_const}
    for name in g.inputs:
        if g.tensors[name].is_const:
            raise BlobError(f"{path}: graph input '{name}' is a constant")
    for node in g.nodes:
        try:
            for i in node.inputs:
                need(not i or i in available, f"reads tensor '{i}' before any node computes it")
            for o in node.outputs:
                need(o not in available, f"writes tensor '{o}' that already has a value")
            check_node(g, node)
        except Invalid as exc:
            raise BlobError(f"{path}: node '{node.name}' ({node.op.value}): {exc}") from None
        except (TypeError, ValueError, IndexError, KeyError, OverflowError) as exc:
            raise BlobError(f"{path}: node '{node.name}' ({node.op.value}): malformed attributes ({exc})") from None
        available.update(node.outputs)
    for o in g.outputs:
        if o in g.tensors and g.tensors[o].is_const:
            raise BlobError(f"{path}: graph output '{o}' is a constant, not computed by any node")
        if o not in available:
            raise BlobError(f"{path}: graph output '{o}' is never computed")
    return g
