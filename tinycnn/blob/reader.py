""".tcnn bytes -> Graph. Everything is validated (size, magic, version, CRC, every section,
record, index, field and array against its bounds, dtype and shape) before a kernel sees it."""
from __future__ import annotations

import base64
import binascii
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from tinycnn.blob import format as F
from tinycnn.blob.validate import parse_metadata, validate_graph
from tinycnn.errors import BlobError
from tinycnn.ir import Graph, Node, Op, QuantParams, Tensor

MAX_JSON_DEPTH = 32


class _Blob:
    def __init__(self, buf, path):
        self.buf, self.path = buf, path
        if len(buf) < 8:
            raise BlobError(f"{path}: {len(buf)} bytes is too short for a tinycnn blob")
        if buf[:4] != F.MAGIC:
            raise BlobError(f"{path}: not a tinycnn blob (magic {bytes(buf[:4])!r}, expected {F.MAGIC!r})")
        version = struct.unpack_from("<H", buf, 4)[0]
        if version == 2:
            raise BlobError(f"{path}: blob format v2 is no longer read by this tinycnn (it reads v3: "
                            "fixed int32 op records for MCU runtimes); convert the model again")
        if version not in F.SUPPORTED_VERSIONS:
            raise BlobError(f"{path}: blob format version {version} is not supported by this tinycnn "
                            f"(supports {F.SUPPORTED_VERSIONS}); convert the model again")
        if len(buf) < F.HEADER_SIZE:
            raise BlobError(f"{path}: {len(buf)} bytes is too short for a tinycnn blob")
        h = F.HEADER.unpack_from(buf)
        _, _, header_size, total, crc, self.flags = h[:6]
        pairs = h[6:6 + 2 * len(F.SECTIONS)]
        self.sec = {name: (pairs[2 * i], pairs[2 * i + 1]) for i, name in enumerate(F.SECTIONS)}
        (self.arena_bytes, self.n_inputs, self.inputs_off, self.n_outputs,
         self.outputs_off, _) = h[6 + 2 * len(F.SECTIONS):]
        if total != len(buf):
            raise BlobError(f"{path}: truncated or padded: header says {total} bytes, file has {len(buf)}")
        if header_size != F.HEADER_SIZE:
            raise BlobError(f"{path}: unexpected header size {header_size}")
        unit = {"tensors": F.TENSOR.size, "ops": F.OP.size, "arrays": F.ARRAY.size, "index": 4}
        for name, (off, count) in self.sec.items():
            size = count * unit.get(name, 1)
            if count < 0 or off < F.HEADER_SIZE or off % F.ALIGN or off + size > total:
                raise BlobError(f"{path}: {name} section out of bounds or misaligned")
        if zlib.crc32(memoryview(buf)[F.HEADER_SIZE:]) & 0xFFFFFFFF != crc:
            raise BlobError(f"{path}: checksum mismatch: the blob is corrupt")
        off, n = self.sec["index"]
        self.index = struct.unpack_from(f"<{n}i", buf, off)

    def fail(self, msg):
        raise BlobError(f"{self.path}: {msg}")

    def record(self, section, rec, i):
        off, _ = self.sec[section]
        return rec.unpack_from(self.buf, off + i * rec.size)

    def indices(self, off, count, where):
        if count < 0 or off < 0 or off + count > len(self.index):
            self.fail(f"{where}: index list [{off}, {off + count}) outside the index section")
        return self.index[off:off + count]

    def payload(self, off, nbytes, dtype_code, shape, where):
        if not 0 <= dtype_code < len(F.DTYPE_NAMES):
            self.fail(f"{where}: unknown dtype code {dtype_code}")
        dtype = np.dtype(F.DTYPE_NAMES[dtype_code])
        pay_off, pay_size = self.sec["payload"]
        if off < 0 or nbytes < 0 or off % F.ALIGN or off + nbytes > pay_size:
            self.fail(f"{where}: array [{off}, {off + nbytes}) outside the payload ({pay_size} bytes) "
                      "or misaligned")
        if any(d < 0 for d in shape) or math.prod(shape) * dtype.itemsize != nbytes:
            self.fail(f"{where}: shape {list(shape)} x {dtype} does not match {nbytes} bytes")
        return np.frombuffer(self.buf, dtype=dtype, count=nbytes // dtype.itemsize,
                             offset=pay_off + off).reshape(shape)

    def array(self, k, where):
        if not 0 <= k < self.sec["arrays"][1]:
            self.fail(f"{where}: array index {k} out of range")
        off, nbytes, dcode, rank, *shape = self.record("arrays", F.ARRAY, k)
        if not 0 <= rank <= F.MAX_ARRAY_RANK:
            self.fail(f"{where}: array rank {rank} is invalid")
        return self.payload(off, nbytes, dcode, shape[:rank], where)

    def json(self, name):
        off, size = self.sec[name]
        if size == 0:
            return {}
        raw = bytes(self.buf[off:off + size])
        # debug: JSON, NUL, op names (for C runtimes); depth bounded on the bytes before parsing
        doc = parse_metadata(raw.split(b"\0", 1)[0], f"{self.path}: {name} section")
        if not isinstance(doc, dict) or _depth(doc) > MAX_JSON_DEPTH:
            self.fail(f"{name} section is not a JSON object of depth <= {MAX_JSON_DEPTH}")
        return doc

    def fields(self, op_name, off, size, where):
        r_off, r_size = self.sec["records"]
        words = F.record_words(op_name)
        if size != 4 * words or off < 0 or off % 4 or off + size > r_size:
            self.fail(f"{where}: record [{off}, {off + size}) does not fit the {op_name} layout "
                      f"({4 * words} bytes) or the records section")
        w = struct.unpack_from(f"<{words}i", self.buf, r_off + off)
        attrs, params = {}, {}
        for bit, (name, kind, pos) in enumerate(F.field_layout(op_name)):
            if not w[0] >> bit & 1:
                continue
            v = w[pos:pos + F.KIND_WORDS[kind]]
            if kind == "a":
                params[name] = self.array(v[0], f"{where} param '{name}'")
            elif kind == "i":
                attrs[name] = v[0]
            elif kind in ("i2", "i4"):
                attrs[name] = list(v)
            elif kind == "b":
                attrs[name] = bool(v[0])
            elif kind in ("v6", "m6"):
                if not 0 <= v[0] <= 6:
                    self.fail(f"{where} attr '{name}': length {v[0]} is invalid")
                attrs[name] = list(v[1:1 + v[0]]) if kind == "v6" else [list(v[1 + 2 * r:3 + 2 * r])
                                                                         for r in range(v[0])]
            else:
                values = F.ENUMS[kind[2:]]
                if not 0 <= v[0] < len(values):
                    self.fail(f"{where} attr '{name}': enum code {v[0]} is unknown")
                attrs[name] = values[v[0]]
        return attrs, params


def _depth(v, d=1):
    if d > MAX_JSON_DEPTH:
        return d
    if isinstance(v, dict):
        return max([_depth(x, d + 1) for x in v.values()], default=d)
    if isinstance(v, list):
        return max([_depth(x, d + 1) for x in v], default=d)
    return d


def graph_from_bytes(buf: bytes, path="<bytes>") -> Graph:
    b = _Blob(buf, path)
    host, debug = b.json("host"), b.json("debug")
    for doc, keys in ((host, ("meta", "attrs", "params")), (debug, ("meta", "attrs", "quant"))):
        if not all(isinstance(doc.get(k, {}), dict) for k in keys):
            b.fail(f"host/debug section: {', '.join(keys)} must be JSON objects")
    meta = {**debug.get("meta", {}), **host.get("meta", {})}
    g = Graph(name=str(debug.get("name", "model")), meta=meta)
    n_tensors, n_ops = b.sec["tensors"][1], b.sec["ops"][1]
    names = debug.get("tensors") or [f"t{i}" for i in range(n_tensors)]
    op_names = debug.get("ops") or [f"op{i}" for i in range(n_ops)]
    if (not isinstance(names, list) or not isinstance(op_names, list)
            or not all(isinstance(x, str) for x in names + op_names)):
        b.fail("debug section names are not lists of strings")
    if len(names) != n_tensors or len(op_names) != n_ops or len(set(names)) != len(names):
        b.fail("debug section names do not match the tensor and op tables")
    dq = debug.get("quant", {})
    q_off, q_size = b.sec["quant"]
    for i in range(n_tensors):
        dcode, rank, flags, *rest = b.record("tensors", F.TENSOR, i)
        shape, (data_off, nbytes, quant_off) = rest[:F.MAX_RANK], rest[F.MAX_RANK:F.MAX_RANK + 3]
        name = str(names[i])
        where = f"tensor '{name}'"
        if not 0 <= dcode < len(F.DTYPE_NAMES) or not 0 <= rank <= F.MAX_RANK:
            b.fail(f"{where}: unknown dtype code {dcode} or rank {rank}")
        shape = tuple(shape[:rank])
        quant = None
        if flags & F.FLAG_QUANT:
            if quant_off < 0 or quant_off % 4 or quant_off + 8 > q_size:
                b.fail(f"{where}: quantization block outside its section")
            n, axis = struct.unpack_from("<ii", buf, q_off + quant_off)
            if n <= 0 or quant_off + 8 + 8 * n > q_size:
                b.fail(f"{where}: quantization block outside its section")
            vals = struct.unpack_from(f"<{n}f{n}i", buf, q_off + quant_off + 8)
            quant = QuantParams(np.array(vals[:n], np.float32), np.array(vals[n:], np.int32),
                                None if axis < 0 else axis)
        elif str(i) in dq:
            try:
                d = dq[str(i)]
                scale = np.frombuffer(base64.b64decode(d["scale"], validate=True), "<f4").astype(np.float32)
                zp = np.frombuffer(base64.b64decode(d["zero_point"], validate=True), "<i4").astype(np.int32)
                axis = d["axis"]
                if len(scale) != len(zp) or not len(scale) or not (axis is None or isinstance(axis, int)):
                    raise ValueError
                quant = QuantParams(scale, zp, axis)
            except (KeyError, TypeError, ValueError, binascii.Error):
                b.fail(f"{where}: debug quantization is malformed")
        data = b.payload(data_off, nbytes, dcode, shape, where) if flags & F.FLAG_CONST else None
        g.tensors[name] = Tensor(name, shape, F.DTYPE_NAMES[dcode], data, quant)

    def tensor_list(off, count, where, allow_absent):
        idx = b.indices(off, count, where)
        for k in idx:
            if not (0 <= k < n_tensors or (allow_absent and k == -1)):
                b.fail(f"{where}: tensor index {k} out of range")
        return ["" if k == -1 else names[k] for k in idx]

    host_attrs, host_params, dbg_attrs = host.get("attrs", {}), host.get("params", {}), debug.get("attrs", {})
    for i in range(n_ops):
        code, variant, n_in, ins, n_out, outs, f_off, f_size, _, _ = b.record("ops", F.OP, i)
        name = str(op_names[i])
        where = f"node '{name}'"
        if not 0 <= code < len(F.OP_CODES):
            b.fail(f"{where} has unknown op code {code}")
        if not 0 <= variant < len(F.KERNEL_VARIANTS):
            b.fail(f"{where} has unknown kernel variant code {variant}")
        try:
            op = Op(F.OP_CODES[code])
        except ValueError:
            b.fail(f"{where} has op {F.OP_CODES[code]} unknown to this tinycnn")
        attrs, params = b.fields(op.value, f_off, f_size, where)
        for extra in (dbg_attrs.get(str(i), {}), host_attrs.get(str(i), {})):
            if not isinstance(extra, dict):
                b.fail(f"{where}: extra attributes are not a JSON object")
            attrs.update(extra)
        extra_params = host_params.get(str(i), {})
        if not isinstance(extra_params, dict):
            b.fail(f"{where}: host parameters are not a JSON object")
        for pname, k in extra_params.items():
            params[pname] = b.array(k if isinstance(k, int) else -1, f"{where} param '{pname}'")
        if variant:
            attrs["kernel_variant"] = F.KERNEL_VARIANTS[variant]
        if n_out < 1:
            b.fail(f"{where} has no output")
        g.nodes.append(Node(name, op, tensor_list(ins, n_in, where, True), tensor_list(outs, n_out, where, False),
                            attrs, params))
    for what, n in (("input", b.n_inputs), ("output", b.n_outputs)):
        if not 0 < n <= n_tensors:
            b.fail(f"graph {what} count {n} is invalid")
    g.inputs = tensor_list(b.inputs_off, b.n_inputs, "graph inputs", False)
    g.outputs = tensor_list(b.outputs_off, b.n_outputs, "graph outputs", False)
    return validate_graph(g, path)


def read_blob(path) -> Graph:
    path = Path(path)
    try:
        buf = path.read_bytes()
    except OSError as exc:
        raise BlobError(f"{path}: cannot read ({exc.strerror})") from exc
    return graph_from_bytes(buf, path)


def arena_offsets(buf: bytes) -> tuple[dict, int]:
    """The arena plan stored in a blob: {tensor index: offset} and the arena size in bytes."""
    b = _Blob(buf, "<bytes>")
    offs = {}
    for i in range(b.sec["tensors"][1]):
        rec = b.record("tensors", F.TENSOR, i)
        if rec[3 + F.MAX_RANK + 3] >= 0:
            offs[i] = rec[3 + F.MAX_RANK + 3]
    return offs, b.arena_bytes
