"""Graph -> .tcnn bytes (format v2: binary tables a C runtime walks in place), written
atomically (temp file, then rename)."""
from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np

from tinycnn.blob import format as F
from tinycnn.fileio import atomic_write
from tinycnn.ir import Graph


class _Sections:
    """The growing string, word and payload sections of one blob."""

    def __init__(self):
        self.strings = bytearray()
        self.string_offsets = {}
        self.words = bytearray()
        self.payload = bytearray()

    def string(self, s: str) -> int:
        if s not in self.string_offsets:
            self.string_offsets[s] = len(self.strings)
            self.strings += s.encode() + b"\0"
        return self.string_offsets[s]

    def block(self, data: bytes) -> int:
        """Append a 4-byte aligned block to the word section; returns its byte offset."""
        off = len(self.words)
        self.words += data + b"\0" * ((-len(data)) % 4)
        return off

    def array(self, a: np.ndarray) -> tuple[int, int]:
        a = np.ascontiguousarray(a)
        self.payload += b"\0" * ((-len(self.payload)) % F.ALIGN)
        off = len(self.payload)
        self.payload += a.tobytes()
        return off, a.nbytes


def _scalar(v):
    return v.item() if isinstance(v, np.generic) else v


def _encode_value(sec: _Sections, key: str, v) -> bytes:
    v = v.tolist() if isinstance(v, np.ndarray) else _scalar(v)
    head = lambda t, extra, n: struct.pack("<IHHI", sec.string(key), t, extra, n)  # noqa: E731
    if v is None:
        return head(F.T_NONE, 0, 0)
    if isinstance(v, bool):
        return head(F.T_BOOL, 0, 1) + struct.pack("<i", int(v))
    if isinstance(v, int):
        return head(F.T_INT, 0, 1) + struct.pack("<q", v)
    if isinstance(v, float):
        return head(F.T_FLOAT, 0, 1) + struct.pack("<d", v)
    if isinstance(v, str):
        return head(F.T_STR, 0, 1) + struct.pack("<I", sec.string(v))
    if isinstance(v, (list, tuple)):
        items = [_scalar(x) for x in v]
        if all(isinstance(x, int) and not isinstance(x, bool) for x in items):
            return head(F.T_INTS, 0, len(items)) + struct.pack(f"<{len(items)}q", *items)
        if all(x is None or (isinstance(x, (int, float)) and not isinstance(x, bool)) for x in items):
            vals = [float("nan") if x is None else float(x) for x in items]
            return head(F.T_FLOATS, 0, len(vals)) + struct.pack(f"<{len(vals)}d", *vals)
        if items and all(isinstance(r, (list, tuple)) for r in items):
            rows = [[_scalar(x) for x in r] for r in items]
            cols = len(rows[0])
            if all(len(r) == cols and all(isinstance(x, int) and not isinstance(x, bool) for x in r)
                   for r in rows):
                flat = [x for r in rows for x in r]
                return head(F.T_INT_MATRIX, cols, len(rows)) + struct.pack(f"<{len(flat)}q", *flat)
    raise ValueError(f"attribute '{key}' = {v!r} has no blob encoding")


def _tlv(sec: _Sections, entries: dict, arrays: bool = False) -> int:
    body = b""
    for key, v in entries.items():
        if arrays:
            a = np.ascontiguousarray(v)
            off, nbytes = sec.array(a)
            body += struct.pack("<IHHI", sec.string(key), F.T_ARRAY, F.DTYPE_CODES[str(a.dtype)], a.ndim)
            body += struct.pack(f"<II{a.ndim}i", off, nbytes, *a.shape)
        else:
            body += _encode_value(sec, key, v)
    return sec.block(struct.pack("<I", len(entries)) + body)


def _quant_block(sec: _Sections, q) -> int:
    n = len(q.scale)
    return sec.block(struct.pack(f"<Ii{n}f{n}i", n, -1 if q.axis is None else q.axis,
                                 *q.scale.astype(np.float32).tolist(), *q.zero_point.astype(np.int32).tolist()))


def graph_to_bytes(graph: Graph) -> bytes:
    sec = _Sections()
    index = {name: i for i, name in enumerate(graph.tensors)}
    tensor_records = []
    for t in graph.tensors.values():
        if len(t.shape) > F.MAX_RANK:
            raise ValueError(f"tensor '{t.name}' has rank {len(t.shape)} > {F.MAX_RANK}")
        quant_off = _quant_block(sec, t.quant) if t.quant is not None else F.NO_OFFSET
        data_off, nbytes = sec.array(t.data) if t.is_const else (F.NO_OFFSET, 0)
        flags = (F.FLAG_CONST if t.is_const else 0) | (F.FLAG_QUANT if t.quant is not None else 0)
        shape = list(t.shape) + [0] * (F.MAX_RANK - len(t.shape))
        tensor_records.append(F.TENSOR.pack(sec.string(t.name), F.DTYPE_CODES[t.dtype], len(t.shape),
                                            flags, 0, *shape, quant_off, data_off, nbytes, 0))
    op_records = []
    for n in graph.nodes:
        ins = sec.block(struct.pack(f"<{len(n.inputs)}i", *[index[i] if i else -1 for i in n.inputs]))
        outs = sec.block(struct.pack(f"<{len(n.outputs)}i", *[index[o] for o in n.outputs]))
        op_records.append(F.OP.pack(F.OP_INDEX[n.op.value], len(n.inputs), len(n.outputs), sec.string(n.name),
                                    ins, outs, _tlv(sec, n.attrs), _tlv(sec, n.params, arrays=True)))
    io = [len(graph.inputs)] + [index[i] for i in graph.inputs] + [len(graph.outputs)] + [index[o] for o in graph.outputs]
    io_off = sec.block(struct.pack(f"<{len(io)}i", *io))
    meta = json.dumps({"name": graph.name, "meta": graph.meta}, default=_json_default,
                      separators=(",", ":")).encode()

    sections = [bytes(sec.strings), b"".join(tensor_records), b"".join(op_records), bytes(sec.words),
                bytes(sec.payload), meta]
    offsets, pos, body = [], F.HEADER_SIZE, b""
    for data in sections:
        pad = (-pos) % F.ALIGN
        body += b"\0" * pad
        pos += pad
        offsets.append(pos)
        body += data
        pos += len(data)
    total = F.HEADER_SIZE + len(body)
    counts = [len(sec.strings), len(tensor_records), len(op_records), len(sec.words), len(sec.payload), len(meta)]
    table = [v for pair in zip(offsets, counts) for v in pair]
    crc = zlib.crc32(body) & 0xFFFFFFFF
    header = F.HEADER.pack(F.MAGIC, F.VERSION, F.HEADER_SIZE, total, crc, *table, io_off, 0)
    return header + body


def _json_default(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


def write_blob(graph: Graph, path) -> Path:
    """Serialize a graph; nothing half-written is ever left at ``path``."""
    path = Path(path)
    data = graph_to_bytes(graph)
    atomic_write(path, data, "blob", make_parents=True)
    return path
