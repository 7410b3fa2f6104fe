"""Mutants of a fixture blob, reproducible from a seed: graph-level (the graph the reader
produced, edited and written back with our own writer, so the checksum is right) and
byte-level (random bytes changed, then the checksum recomputed)."""
from __future__ import annotations

import copy
import zlib

import numpy as np

from tinycnn.blob import format as F
from tinycnn.blob.writer import graph_to_bytes
from tinycnn.ir import DTYPES, Op

_INTS = (0, 1, -1, 2, 3, 7, 31, 32, 33, 127, 128, 255, 256, -128, 65535, 1 << 20, (1 << 31) - 1, -(1 << 31),
         1 << 40, 10 ** 12)
_VARIANTS = ("tflm", "int16x8", "packed", "int8", "bogus", 7, None)


def crc_field_offset(buf: bytes) -> int:
    """Where the header stores the CRC of bytes [HEADER_SIZE:] (found by value, so it follows
    the header layout in tinycnn/blob/format.py, whatever its version)."""
    crc = (zlib.crc32(buf[F.HEADER_SIZE:]) & 0xFFFFFFFF).to_bytes(4, "little")
    pos = buf.find(crc, 0, F.HEADER_SIZE)
    if pos < 0:
        raise ValueError("the blob header holds no CRC of its body")
    return pos


def with_crc(buf: bytearray, crc_at: int) -> bytes:
    buf[crc_at:crc_at + 4] = (zlib.crc32(bytes(buf[F.HEADER_SIZE:])) & 0xFFFFFFFF).to_bytes(4, "little")
    return bytes(buf)


def byte_mutant(buf: bytes, rng) -> bytes:
    out, crc_at = bytearray(buf), crc_field_offset(buf)
    for _ in range(int(rng.integers(1, 9))):
        kind = rng.integers(4)
        pos = int(rng.integers(0, len(out)))
        if kind == 0:
            out[pos] ^= 1 << int(rng.integers(8))
        elif kind == 1:
            out[pos] = int(rng.integers(256))
        elif kind == 2 and pos + 4 <= len(out):  # an int32 field set to an interesting value
            out[pos - pos % 4:pos - pos % 4 + 4] = (int(rng.choice(_INTS)) & 0xFFFFFFFF).to_bytes(4, "little")
        else:
            out[pos] = 0xFF
    return with_crc(out, crc_at)


def _value(rng, old):
    r = rng.integers(9)
    if r == 0:
        return int(rng.choice(_INTS))
    if r == 1 and isinstance(old, list):
        return old[:-1] if old and rng.integers(2) else old + [int(rng.choice(_INTS))]
    if r == 2 and isinstance(old, list) and old:
        new = copy.deepcopy(old)
        j = int(rng.integers(len(new)))
        new[j] = int(rng.choice(_INTS)) if not isinstance(new[j], list) else [int(rng.choice(_INTS))] * 2
        return new
    if r == 3:
        return [np.nan, np.inf, -1.0, 0.0, 1e300][int(rng.integers(5))]
    if r == 4:
        return None
    if r == 5:
        return "bogus"
    if r == 6 and isinstance(old, int):
        return old + int(rng.integers(-3, 4))
    if r == 7:
        return [int(rng.choice(_INTS))] * int(rng.integers(0, 5))
    return -old if isinstance(old, int) else old


def _array(rng, a):
    r = rng.integers(6)
    if r == 0:
        return a[:-1] if a.size else a
    if r == 1:
        return np.concatenate([a.reshape(-1), a.reshape(-1)[:1]]) if a.size else a
    if r == 2:
        return a.astype(str(rng.choice(["int8", "int16", "int64", "float32", "uint32"])))
    if r == 3:
        b = a.copy().reshape(-1)
        if b.size:
            info = np.iinfo(b.dtype) if b.dtype.kind in "iu" else np.finfo(b.dtype)
            b[int(rng.integers(b.size))] = rng.choice([info.max, info.min])
        return b.reshape(a.shape)
    if r == 4:
        return a.reshape(-1)
    return np.zeros((0,), a.dtype)


def _mutate_graph(g, rng):
    names = list(g.tensors)
    kind = int(rng.integers(9))
    node = g.nodes[int(rng.integers(len(g.nodes)))]
    if kind == 0:  # a shape
        t = g.tensors[names[int(rng.integers(len(names)))]]
        if t.shape and not t.is_const:
            s = list(t.shape)
            s[int(rng.integers(len(s)))] = int(rng.choice(_INTS))
            t.shape = tuple(s) if rng.integers(4) else tuple(s[:-1])
    elif kind == 1:  # a dtype
        t = g.tensors[names[int(rng.integers(len(names)))]]
        t.dtype = str(rng.choice(list(DTYPES)))
        if t.is_const:
            t.data = t.data.astype(DTYPES[t.dtype])
    elif kind in (2, 3) and node.attrs:  # an attribute
        key = str(rng.choice(sorted(node.attrs)))
        if rng.integers(5) == 0:
            del node.attrs[key]
        else:
            node.attrs[key] = _value(rng, node.attrs[key])
    elif kind == 4 and node.params:  # a prepared parameter
        key = str(rng.choice(sorted(node.params)))
        if rng.integers(5) == 0:
            del node.params[key]
        else:
            node.params[key] = _array(rng, node.params[key])
    elif kind == 5:  # an index
        if node.inputs and rng.integers(2):
            node.inputs[int(rng.integers(len(node.inputs)))] = str(rng.choice(names + [""]))
        elif rng.integers(2):
            node.inputs.append(str(rng.choice(names)))
        else:
            node.outputs = [str(rng.choice(names))]
    elif kind == 6:  # an op code
        node.op = Op(str(rng.choice([o.value for o in Op])))
    elif kind == 7:  # a variant
        node.attrs[str(rng.choice(["kernel_variant", "output_mode"]))] = _VARIANTS[int(rng.integers(len(_VARIANTS)))]
    else:  # quantization of a tensor
        t = g.tensors[names[int(rng.integers(len(names)))]]
        if t.quant is not None:
            t.quant.scale = [np.array([0.0], np.float32), np.array([np.nan], np.float32),
                             np.ones(3, np.float32)][int(rng.integers(3))]
            t.quant.zero_point = np.zeros(t.quant.scale.shape, np.int32)
            t.quant.axis = int(rng.choice([0, 3, 9])) if rng.integers(2) else None


def graph_mutant(graph, rng) -> bytes | None:
    """None when the writer itself refuses the mutant (not a runtime case)."""
    g = copy.deepcopy(graph)
    for _ in range(int(rng.integers(1, 4))):
        _mutate_graph(g, rng)
    try:
        return graph_to_bytes(g)
    except Exception:  # noqa: BLE001  (an unwritable mutant never reaches a runtime)
        return None


def make_case(seed: int, fixtures: list):
    """(fixture name, kind, blob bytes or None) for one seed; fixtures: [(name, bytes, graph)]."""
    rng = np.random.default_rng(seed)
    name, buf, graph = fixtures[seed % len(fixtures)]
    if rng.integers(5) < 3:
        return name, "graph", graph_mutant(graph, rng)
    return name, "bytes", byte_mutant(buf, rng)
