"""Graph -> .tcnn bytes (format v3: fixed int32 records a C runtime walks in place), written
atomically (temp file, then rename)."""
from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path

import numpy as np

from tinycnn.blob import format as F
from tinycnn.fileio import atomic_write
from tinycnn.ir import Graph

INT32 = (-(1 << 31), (1 << 31) - 1)


class _Sections:
    """The growing record, array, index, quantization and payload sections of one blob."""

    def __init__(self):
        self.records = bytearray()
        self.arrays = []
        self.index = []
        self.quant = bytearray()
        self.payload = bytearray()

    def array(self, a: np.ndarray) -> tuple[int, int]:
        """Append an array to the payload at a 16-byte aligned offset; returns (offset, bytes)."""
        a = np.ascontiguousarray(a)
        self.payload += b"\0" * ((-len(self.payload)) % F.ALIGN)
        off = len(self.payload)
        self.payload += a.tobytes()
        return off, a.nbytes

    def array_ref(self, a: np.ndarray) -> int:
        """Array table entry for a prepared parameter array; returns its index."""
        a = np.ascontiguousarray(a)
        if a.ndim > F.MAX_ARRAY_RANK or str(a.dtype) not in F.DTYPE_CODES:
            raise _NoEncoding
        off, nbytes = self.array(a)
        shape = list(a.shape) + [0] * (F.MAX_ARRAY_RANK - a.ndim)
        self.arrays.append(F.ARRAY.pack(off, nbytes, F.DTYPE_CODES[str(a.dtype)], a.ndim, *shape))
        return len(self.arrays) - 1

    def indices(self, values) -> int:
        off = len(self.index)
        self.index += [int(v) for v in values]
        return off


class _NoEncoding(Exception):
    """The value does not fit its field kind: it goes to the host/debug JSON instead."""


def _int(v) -> int:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, int) or not INT32[0] <= v <= INT32[1]:
        raise _NoEncoding
    return v


def _ints(v, n) -> list:
    if not isinstance(v, (list, tuple)) or len(v) != n:
        raise _NoEncoding
    return [_int(x) for x in v]


def _encode_field(sec: _Sections, kind: str, v) -> list:
    """One attribute or parameter -> its int32 words (raises _NoEncoding if it does not fit)."""
    if kind == "i":
        return [_int(v)]
    if kind in ("i2", "i4"):
        return _ints(v, int(kind[1]))
    if kind == "b":
        if not isinstance(v, bool):
            raise _NoEncoding
        return [int(v)]
    if kind == "v6":
        if not isinstance(v, (list, tuple)) or len(v) > 6:
            raise _NoEncoding
        return [len(v)] + _ints(v, len(v)) + [0] * (6 - len(v))
    if kind == "m6":
        if not isinstance(v, (list, tuple)) or len(v) > 6:
            raise _NoEncoding
        flat = [x for row in v for x in _ints(row, 2)]
        return [len(v)] + flat + [0] * (12 - len(flat))
    if kind == "a":
        if not isinstance(v, np.ndarray):
            raise _NoEncoding
        return [sec.array_ref(v)]
    values = F.ENUMS[kind[2:]]
    if not isinstance(v, str) or v not in values or (v == "" and kind != "e:dtype"):
        raise _NoEncoding
    return [values.index(v)]


def _op_record(sec: _Sections, op_name: str, fields: dict) -> tuple[int, int, dict]:
    """Pack a node's attributes and parameters into its op code's fixed record. Returns
    (records-section offset, size, the entries that did not fit)."""
    words = [0] * F.record_words(op_name)
    rest = dict(fields)
    for bit, (name, kind, pos) in enumerate(F.field_layout(op_name)):
        if name not in rest:
            continue
        try:
            enc = _encode_field(sec, kind, rest[name])
        except _NoEncoding:
            continue
        words[pos:pos + len(enc)] = enc
        words[0] |= 1 << bit
        del rest[name]
    off = len(sec.records)
    sec.records += struct.pack(f"<{len(words)}i", *words)
    return off, 4 * len(words), rest


def _quant_block(sec: _Sections, q) -> int:
    n = len(q.scale)
    off = len(sec.quant)
    sec.quant += struct.pack(f"<ii{n}f{n}i", n, -1 if q.axis is None else q.axis,
                             *q.scale.astype(np.float32).tolist(), *q.zero_point.astype(np.int32).tolist())
    return off


def _arena_plan(graph: Graph) -> tuple[dict, int]:
    """firmware_sim's arena plan at batch 1 in the graph's op order ({} for float32 models or
    graphs the device binders cannot plan)."""
    if graph.inputs and graph.tensors[graph.inputs[0]].dtype == "float32":
        return {}, 0
    try:
        from firmware_sim.device import buffer_sizes
        from firmware_sim.memory_plan import plan_graph
        plan = plan_graph(graph, buffer_sizes(graph))
    except Exception:  # noqa: BLE001  (no device plan: the Python runtime plans for itself)
        return {}, 0
    return plan.offsets, plan.arena_bytes


def _batch1_bytes(t) -> int:
    return int(np.prod([1 if d == -1 else d for d in t.shape])) * np.dtype(t.dtype).itemsize


def graph_to_bytes(graph: Graph, strip: bool = False) -> bytes:
    """Serialize a graph. ``strip`` leaves out the debug section (names, source names, float
    scales of tensors no kernel reads, conversion metadata): the smallest blob for a device."""
    sec = _Sections()
    index = {name: i for i, name in enumerate(graph.tensors)}
    io = set(graph.inputs) | set(graph.outputs)
    offsets, arena_bytes = _arena_plan(graph)
    debug = {"name": graph.name, "tensors": list(graph.tensors), "ops": [n.name for n in graph.nodes],
             "quant": {}, "attrs": {}, "meta": {k: v for k, v in graph.meta.items() if k in F.DEBUG_META}}
    host = {"meta": {k: v for k, v in graph.meta.items() if k not in F.DEBUG_META}, "attrs": {}}
    tensor_records = []
    for i, t in enumerate(graph.tensors.values()):
        if len(t.shape) > F.MAX_RANK:
            raise ValueError(f"tensor '{t.name}' has rank {len(t.shape)} > {F.MAX_RANK}")
        quant_off = F.NONE
        if t.quant is not None:
            if t.name in io:  # the runtime quantizes inputs and dequantizes outputs with these
                quant_off = _quant_block(sec, t.quant)
            else:  # no kernel reads them (prepared integer parameters carry the arithmetic)
                debug["quant"][str(i)] = _quant_json(t.quant)
        data_off, nbytes = sec.array(t.data) if t.is_const else (F.NONE, 0)
        flags = (F.FLAG_CONST if t.is_const else 0) | (F.FLAG_QUANT if quant_off != F.NONE else 0)
        shape = list(t.shape) + [0] * (F.MAX_RANK - len(t.shape))
        arena = offsets.get(t.name, F.NONE) if not t.is_const else F.NONE
        tensor_records.append(F.TENSOR.pack(F.DTYPE_CODES[t.dtype], len(t.shape), flags, *shape, data_off,
                                            nbytes, quant_off, arena, _batch1_bytes(t), 0, 0))
    op_records = []
    for k, n in enumerate(graph.nodes):
        from tinycnn.costs import node_macs
        ins = sec.indices(index[i] if i else -1 for i in n.inputs)
        outs = sec.indices(index[o] for o in n.outputs)
        variant = n.attrs.get("kernel_variant") or ""
        if variant not in F.KERNEL_VARIANTS:
            raise ValueError(f"node '{n.name}': kernel variant '{variant}' has no blob code")
        attrs = {a: v for a, v in n.attrs.items() if a != "kernel_variant"}
        off, size, rest = _op_record(sec, n.op.value, {**attrs, **n.params})
        extra_params = {p: sec.array_ref(rest.pop(p)) for p in list(rest) if p in n.params}
        if extra_params:  # arrays of an op not (yet) in its record layout: host runtimes only
            host.setdefault("params", {})[str(k)] = extra_params
        float_model = graph.tensors[n.outputs[0]].dtype == "float32"
        kept = {a: v for a, v in rest.items()
                if a not in F.DEBUG_ATTRS and (float_model or not _float_valued(v))}
        dropped = {a: v for a, v in rest.items() if a not in kept}
        if kept:
            host["attrs"][str(k)] = kept
        if dropped:
            debug["attrs"][str(k)] = dropped
        try:
            macs = min(int(node_macs(graph, n)), INT32[1])
        except Exception:  # noqa: BLE001
            macs = 0
        op_records.append(F.OP.pack(F.OP_INDEX[n.op.value], F.KERNEL_VARIANTS.index(variant), len(n.inputs),
                                    ins, len(n.outputs), outs, off, size, macs, 0))
    in_off = sec.indices(index[i] for i in graph.inputs)
    out_off = sec.indices(index[o] for o in graph.outputs)
    dump = lambda d: json.dumps(d, default=_json_default, separators=(",", ":")).encode()  # noqa: E731
    sections = [b"".join(tensor_records), b"".join(op_records), bytes(sec.records), b"".join(sec.arrays),
                struct.pack(f"<{len(sec.index)}i", *sec.index), bytes(sec.quant), bytes(sec.payload),
                dump(host), b"" if strip else _debug_section(dump(debug), debug["ops"])]
    counts = [len(tensor_records), len(op_records), len(sec.records), len(sec.arrays), len(sec.index),
              len(sec.quant), len(sec.payload), len(sections[7]), len(sections[8])]
    offsets_, pos, body = [], F.HEADER_SIZE, b""
    for data in sections:
        pad = (-pos) % F.ALIGN
        body += b"\0" * pad
        pos += pad
        offsets_.append(pos)
        body += data
        pos += len(data)
    total = F.HEADER_SIZE + len(body)
    table = [v for pair in zip(offsets_, counts) for v in pair]
    crc = zlib.crc32(body) & 0xFFFFFFFF
    header = F.HEADER.pack(F.MAGIC, F.VERSION, F.HEADER_SIZE, total, crc, 0 if strip else F.FLAG_HAS_DEBUG,
                           *table, arena_bytes, len(graph.inputs), in_off, len(graph.outputs), out_off, 0)
    return header + body


def _debug_section(doc: bytes, op_names) -> bytes:
    """The JSON document, a NUL, then every op name NUL-terminated (what tcnn_op_name returns)."""
    return doc + b"\0" + b"".join(name.encode() + b"\0" for name in op_names)


def _quant_json(q) -> dict:
    """Debug quantization: float32 scales and int32 zero points as base64 of their bytes."""
    return {"axis": q.axis, "scale": base64.b64encode(q.scale.astype("<f4").tobytes()).decode(),
            "zero_point": base64.b64encode(q.zero_point.astype("<i4").tobytes()).decode()}


def _float_valued(v) -> bool:
    """Float attributes of a quantized node (the clamp, alpha, value an integer parameter was
    prepared from) are debug information: no integer kernel reads them."""
    if v is None or isinstance(v, (float, np.floating)):
        return True
    return isinstance(v, (list, tuple)) and any(_float_valued(x) for x in v)


def _json_default(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


def write_blob(graph: Graph, path, strip: bool = False) -> Path:
    """Serialize a graph; nothing half-written is ever left at ``path``."""
    path = Path(path)
    data = graph_to_bytes(graph, strip=strip)
    atomic_write(path, data, "blob", make_parents=True)
    return path


def strip_blob(path) -> Path:
    """Rewrite a blob without its debug section (atomically)."""
    from tinycnn.blob.reader import read_blob
    return write_blob(read_blob(path), path, strip=True)
