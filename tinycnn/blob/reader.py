""".tcnn bytes -> Graph. Everything is validated (size, magic, version, CRC, every array's
bounds, dtype and shape, every node's op and tensor references) before a kernel sees it."""
from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np

from tinycnn.blob.format import ALIGN, DTYPE_NAMES, HEADER, HEADER_SIZE, MAGIC, SUPPORTED_VERSIONS
from tinycnn.errors import BlobError
from tinycnn.ir import Graph, Node, Op, QuantParams, Tensor


def _array(buf, payload_offset, payload_size, ref, where, path):
    try:
        off, nbytes, dtype, shape = int(ref["offset"]), int(ref["nbytes"]), ref["dtype"], ref["shape"]
    except (KeyError, TypeError, ValueError) as exc:
        raise BlobError(f"{path}: malformed array reference in {where}") from exc
    if dtype not in DTYPE_NAMES:
        raise BlobError(f"{path}: {where}: unknown dtype '{dtype}'")
    if off < 0 or off % ALIGN or off + nbytes > payload_size:
        raise BlobError(f"{path}: {where}: array [{off}, {off + nbytes}) outside the payload "
                        f"({payload_size} bytes) or misaligned")
    itemsize = np.dtype(dtype).itemsize
    if any(int(d) < 0 for d in shape) or int(np.prod(shape, dtype=np.int64)) * itemsize != nbytes:
        raise BlobError(f"{path}: {where}: shape {shape} x {dtype} does not match {nbytes} bytes")
    start = payload_offset + off
    return np.frombuffer(buf, dtype=dtype, count=nbytes // itemsize, offset=start).reshape(shape)


def graph_from_bytes(buf: bytes, path="<bytes>") -> Graph:
    if len(buf) < HEADER_SIZE:
        raise BlobError(f"{path}: {len(buf)} bytes is too short for a tinycnn blob")
    magic, version, header_size, total, meta_off, meta_size, pay_off, pay_size, crc = HEADER.unpack_from(buf)
    if magic != MAGIC:
        raise BlobError(f"{path}: not a tinycnn blob (magic {magic!r}, expected {MAGIC!r})")
    if version not in SUPPORTED_VERSIONS:
        raise BlobError(f"{path}: blob format version {version} is not supported by this tinycnn "
                        f"(supports {SUPPORTED_VERSIONS})")
    if total != len(buf):
        raise BlobError(f"{path}: truncated or padded: header says {total} bytes, file has {len(buf)}")
    if header_size != HEADER_SIZE or meta_off + meta_size > total or pay_off + pay_size > total:
        raise BlobError(f"{path}: section table out of bounds")
    if zlib.crc32(memoryview(buf)[HEADER_SIZE:]) & 0xFFFFFFFF != crc:
        raise BlobError(f"{path}: checksum mismatch: the blob is corrupt")
    try:
        doc = json.loads(bytes(buf[meta_off:meta_off + meta_size]))
    except ValueError as exc:
        raise BlobError(f"{path}: graph description is not valid JSON") from exc
    g = Graph(name=doc.get("name", "model"), meta=doc.get("meta", {}))
    for t in doc["tensors"]:
        data = None
        if "data" in t:
            data = _array(buf, pay_off, pay_size, t["data"], f"tensor '{t['name']}'", path)
            if list(data.shape) != list(t["shape"]):
                raise BlobError(f"{path}: tensor '{t['name']}' shape mismatch")
        if t["dtype"] not in DTYPE_NAMES:
            raise BlobError(f"{path}: tensor '{t['name']}' has unknown dtype {t['dtype']}")
        quant = QuantParams.from_json(t["quant"]) if t.get("quant") else None
        g.tensors[t["name"]] = Tensor(t["name"], tuple(t["shape"]), t["dtype"], data, quant)
    for n in doc["nodes"]:
        try:
            op = Op(n["op"])
        except ValueError as exc:
            raise BlobError(f"{path}: node '{n['name']}' has unknown op '{n['op']}'") from exc
        for ref in n["inputs"] + n["outputs"]:
            if ref and ref not in g.tensors:
                raise BlobError(f"{path}: node '{n['name']}' refers to unknown tensor '{ref}'")
        params = {k: _array(buf, pay_off, pay_size, v, f"node '{n['name']}' param '{k}'", path)
                  for k, v in n["params"].items()}
        g.nodes.append(Node(n["name"], op, n["inputs"], n["outputs"], n["attrs"], params))
    g.inputs, g.outputs = doc["inputs"], doc["outputs"]
    for ref in g.inputs + g.outputs:
        if ref not in g.tensors:
            raise BlobError(f"{path}: graph input/output '{ref}' is not a tensor")
    return g


def read_blob(path) -> Graph:
    path = Path(path)
    try:
        buf = path.read_bytes()
    except OSError as exc:
        raise BlobError(f"{path}: cannot read ({exc.strerror})") from exc
    return graph_from_bytes(buf, path)
