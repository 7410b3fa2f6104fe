""".tcnn bytes -> Graph. Everything is validated (size, magic, version, CRC, every section,
record, string, index list, attribute block and array against its bounds, dtype and shape)
before a kernel sees it."""
from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

import numpy as np

from tinycnn.blob import format as F
from tinycnn.blob.validate import parse_metadata, validate_graph
from tinycnn.errors import BlobError
from tinycnn.ir import Graph, Node, Op, QuantParams, Tensor


class _Blob:
    def __init__(self, buf, path):
        self.buf, self.path = buf, path
        if len(buf) < F.HEADER_SIZE:
            raise BlobError(f"{path}: {len(buf)} bytes is too short for a tinycnn blob")
        if buf[:4] != F.MAGIC:
            raise BlobError(f"{path}: not a tinycnn blob (magic {bytes(buf[:4])!r}, expected {F.MAGIC!r})")
        version = struct.unpack_from("<H", buf, 4)[0]
        if version not in F.SUPPORTED_VERSIONS:
            raise BlobError(f"{path}: blob format version {version} is not supported by this tinycnn "
                            f"(supports {F.SUPPORTED_VERSIONS}); convert the model again")
        h = F.HEADER.unpack_from(buf)
        _, _, header_size, total, crc = h[:5]
        (self.str_off, self.str_size, self.ten_off, self.ten_count, self.op_off, self.op_count,
         self.words_off, self.words_size, self.pay_off, self.pay_size, self.meta_off, self.meta_size,
         self.io_off, _) = h[5:]
        if total != len(buf):
            raise BlobError(f"{path}: truncated or padded: header says {total} bytes, file has {len(buf)}")
        if header_size != F.HEADER_SIZE:
            raise BlobError(f"{path}: unexpected header size {header_size}")
        for name, off, size in (("strings", self.str_off, self.str_size),
                                ("tensors", self.ten_off, self.ten_count * F.TENSOR.size),
                                ("ops", self.op_off, self.op_count * F.OP.size),
                                ("words", self.words_off, self.words_size),
                                ("payload", self.pay_off, self.pay_size), ("meta", self.meta_off, self.meta_size)):
            if off < F.HEADER_SIZE or off + size > total:
                raise BlobError(f"{path}: {name} section out of bounds")
        if self.pay_off % F.ALIGN:
            raise BlobError(f"{path}: payload is not {F.ALIGN}-byte aligned")
        if zlib.crc32(memoryview(buf)[F.HEADER_SIZE:]) & 0xFFFFFFFF != crc:
            raise BlobError(f"{path}: checksum mismatch: the blob is corrupt")

    def fail(self, msg):
        raise BlobError(f"{self.path}: {msg}")

    def string(self, off, where):
        if off >= self.str_size:
            self.fail(f"{where}: string offset {off} outside the string table")
        start = self.str_off + off
        end = self.buf.find(b"\0", start, self.str_off + self.str_size)
        if end < 0:
            self.fail(f"{where}: unterminated string")
        try:
            return bytes(self.buf[start:end]).decode()
        except UnicodeDecodeError:
            self.fail(f"{where}: string is not UTF-8")

    def words(self, off, fmt, where):
        size = struct.calcsize(fmt)
        if off % 4 or off + size > self.words_size:
            self.fail(f"{where}: block at {off} ({size} B) outside the word section")
        return struct.unpack_from(fmt, self.buf, self.words_off + off)

    def array(self, off, nbytes, dtype_code, shape, where):
        if dtype_code >= len(F.DTYPE_NAMES):
            self.fail(f"{where}: unknown dtype code {dtype_code}")
        dtype = np.dtype(F.DTYPE_NAMES[dtype_code])
        if off % F.ALIGN or off + nbytes > self.pay_size:
            self.fail(f"{where}: array [{off}, {off + nbytes}) outside the payload ({self.pay_size} bytes) "
                      "or misaligned")
        if any(d < 0 for d in shape) or math.prod(shape) * dtype.itemsize != nbytes:
            self.fail(f"{where}: shape {list(shape)} x {dtype} does not match {nbytes} bytes")
        return np.frombuffer(self.buf, dtype=dtype, count=nbytes // dtype.itemsize,
                             offset=self.pay_off + off).reshape(shape)

    def tlv(self, off, where, arrays=False):
        (count,) = self.words(off, "<I", where)
        pos, out = off + 4, {}
        for _ in range(count):
            key_off, typ, extra, n = self.words(pos, "<IHHI", where)
            key = self.string(key_off, where)
            pos += 12
            if arrays:
                if typ != F.T_ARRAY:
                    self.fail(f"{where}: param '{key}' is not an array")
                a_off, nbytes, *shape = self.words(pos, f"<II{n}i", f"{where} '{key}'")
                out[key] = self.array(a_off, nbytes, extra, shape, f"{where} param '{key}'")
                pos += 8 + 4 * n
                continue
            out[key], size = self._value(pos, typ, extra, n, f"{where} attr '{key}'")
            pos += size
        return out

    def _value(self, pos, typ, extra, n, where):
        if typ == F.T_NONE:
            return None, 0
        if typ == F.T_BOOL:
            return bool(self.words(pos, "<i", where)[0]), 4
        if typ == F.T_INT:
            return self.words(pos, "<q", where)[0], 8
        if typ == F.T_FLOAT:
            return self.words(pos, "<d", where)[0], 8
        if typ == F.T_STR:
            return self.string(self.words(pos, "<I", where)[0], where), 4
        if typ == F.T_INTS:
            return list(self.words(pos, f"<{n}q", where)), 8 * n
        if typ == F.T_FLOATS:
            return [None if math.isnan(v) else v for v in self.words(pos, f"<{n}d", where)], 8 * n
        if typ == F.T_INT_MATRIX:
            flat = self.words(pos, f"<{n * extra}q", where)
            return [list(flat[r * extra:(r + 1) * extra]) for r in range(n)], 8 * n * extra
        self.fail(f"{where}: unknown attribute type {typ}")


def graph_from_bytes(buf: bytes, path="<bytes>") -> Graph:
    b = _Blob(buf, path)
    doc = parse_metadata(bytes(buf[b.meta_off:b.meta_off + b.meta_size]), path)
    if not isinstance(doc, dict) or not isinstance(doc.get("meta", {}), dict):
        raise BlobError(f"{path}: metadata section is not a JSON object")
    g = Graph(name=doc.get("name", "model"), meta=doc.get("meta", {}))
    names = []
    for i in range(b.ten_count):
        rec = F.TENSOR.unpack_from(buf, b.ten_off + i * F.TENSOR.size)
        name_off, dcode, rank, flags, _, *rest = rec
        shape, (quant_off, data_off, nbytes, _) = rest[:F.MAX_RANK], rest[F.MAX_RANK:]
        where = f"tensor #{i}"
        name = b.string(name_off, where)
        where = f"tensor '{name}'"
        if dcode >= len(F.DTYPE_NAMES) or rank > F.MAX_RANK:
            b.fail(f"{where}: unknown dtype code {dcode} or rank {rank}")
        shape = tuple(shape[:rank])
        quant = None
        if flags & F.FLAG_QUANT:
            (n,) = b.words(quant_off, "<I", where)
            vals = b.words(quant_off, f"<Ii{n}f{n}i", where)
            axis = None if vals[1] < 0 else vals[1]
            quant = QuantParams(np.array(vals[2:2 + n], np.float32), np.array(vals[2 + n:], np.int32), axis)
        data = b.array(data_off, nbytes, dcode, shape, where) if flags & F.FLAG_CONST else None
        g.tensors[name] = Tensor(name, shape, F.DTYPE_NAMES[dcode], data, quant)
        names.append(name)

    def tensor_list(off, count, where, allow_absent):
        idx = b.words(off, f"<{count}i", where)
        for k in idx:
            if not (0 <= k < len(names) or (allow_absent and k == -1)):
                b.fail(f"{where}: tensor index {k} out of range")
        return ["" if k == -1 else names[k] for k in idx]

    for i in range(b.op_count):
        code, n_in, n_out, name_off, ins, outs, attrs_off, params_off = F.OP.unpack_from(buf, b.op_off + i * F.OP.size)
        name = b.string(name_off, f"op #{i}")
        where = f"node '{name}'"
        if code >= len(F.OP_CODES):
            b.fail(f"{where} has unknown op code {code}")
        try:
            op = Op(F.OP_CODES[code])
        except ValueError:
            b.fail(f"{where} has op {F.OP_CODES[code]} unknown to this tinycnn")
        g.nodes.append(Node(name, op, tensor_list(ins, n_in, where, True), tensor_list(outs, n_out, where, False),
                            b.tlv(attrs_off, where), b.tlv(params_off, where, arrays=True)))
    (n_in,) = b.words(b.io_off, "<i", "graph inputs")
    if not 0 < n_in <= len(names):
        b.fail(f"graph input count {n_in} is invalid")
    g.inputs = tensor_list(b.io_off + 4, n_in, "graph inputs", False)
    (n_out,) = b.words(b.io_off + 4 + 4 * n_in, "<i", "graph outputs")
    if not 0 < n_out <= len(names):
        b.fail(f"graph output count {n_out} is invalid")
    g.outputs = tensor_list(b.io_off + 8 + 4 * n_in, n_out, "graph outputs", False)
    return validate_graph(g, path)


def read_blob(path) -> Graph:
    path = Path(path)
    try:
        buf = path.read_bytes()
    except OSError as exc:
        raise BlobError(f"{path}: cannot read ({exc.strerror})") from exc
    return graph_from_bytes(buf, path)
