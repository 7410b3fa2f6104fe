"""Graph -> .tcnn bytes, written atomically (temp file, then rename)."""
from __future__ import annotations

import json
import os
import tempfile
import zlib
from pathlib import Path

import numpy as np

from tinycnn.blob.format import ALIGN, HEADER, HEADER_SIZE, MAGIC, VERSION
from tinycnn.ir import Graph


class _Payload:
    def __init__(self):
        self.chunks, self.size = [], 0

    def add(self, array: np.ndarray) -> dict:
        array = np.ascontiguousarray(array)
        pad = (-self.size) % ALIGN
        if pad:
            self.chunks.append(b"\0" * pad)
            self.size += pad
        ref = {"offset": self.size, "nbytes": int(array.nbytes), "dtype": str(array.dtype),
               "shape": list(array.shape)}
        self.chunks.append(array.tobytes())
        self.size += array.nbytes
        return ref


def _jsonable(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    return v


def graph_to_bytes(graph: Graph) -> bytes:
    payload = _Payload()
    tensors = []
    for t in graph.tensors.values():
        entry = {"name": t.name, "shape": list(t.shape), "dtype": t.dtype,
                 "quant": t.quant.to_json() if t.quant is not None else None}
        if t.is_const:
            entry["data"] = payload.add(t.data)
        tensors.append(entry)
    nodes = [{"name": n.name, "op": n.op.value, "inputs": n.inputs, "outputs": n.outputs,
              "attrs": _jsonable(n.attrs), "params": {k: payload.add(v) for k, v in n.params.items()}}
             for n in graph.nodes]
    doc = {"name": graph.name, "inputs": graph.inputs, "outputs": graph.outputs,
           "meta": _jsonable(graph.meta), "tensors": tensors, "nodes": nodes}
    meta_bytes = json.dumps(doc, separators=(",", ":")).encode()
    meta_offset = HEADER_SIZE
    payload_offset = meta_offset + len(meta_bytes)
    payload_offset += (-payload_offset) % ALIGN
    body = meta_bytes + b"\0" * (payload_offset - meta_offset - len(meta_bytes)) + b"".join(payload.chunks)
    total = HEADER_SIZE + len(body)
    crc = zlib.crc32(body) & 0xFFFFFFFF
    header = HEADER.pack(MAGIC, VERSION, HEADER_SIZE, total, meta_offset, len(meta_bytes),
                         payload_offset, payload.size, crc)
    return header + body


def write_blob(graph: Graph, path) -> Path:
    """Serialize a graph; nothing half-written is ever left at ``path``."""
    path = Path(path)
    data = graph_to_bytes(graph)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
