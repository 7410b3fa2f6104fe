

# ---------------------------------------------------------------- blob reader (format v3)
# The only part of this module that knows the byte layout (docs/blob-format.md). It checks
# magic, version, size, CRC-32 and every section/record/index/array bound and returns a _Graph:
# tensors {dtype, shape, data: (dtype, file offset, nbytes, shape) or None} and nodes in
# execution order (op, name, input indices, output indices, attrs dict, params {key: array loc}).
# The per-op field layouts below are generated from tinycnn/blob/format.py at export time.
# @@LAYOUT@@
_SECTIONS = ("tensors", "ops", "records", "arrays", "index", "quant", "payload", "host", "debug")
_UNIT = {"tensors": 64, "ops": 40, "arrays": 32, "index": 4}
_ITEMSIZE = {"float32": 4, "int8": 1, "uint8": 1, "int16": 2, "int32": 4, "int64": 8, "uint32": 4,
             "uint64": 8}


def _layout(op):
    """[(name, kind, word offset)] of an op's fixed record, and the record's length in words."""
    out, pos = [], 1
    for field in _OP_FIELDS[op].split():
        name, kind = field.split(":", 1)
        out.append((name, kind, pos))
        pos += _KIND_WORDS[kind]
    return out, pos


class BlobError(ValueError):
    pass


class _Graph:
    pass


def _crc32(buf, start):
    try:
        import binascii
        return binascii.crc32(memoryview(buf)[start:]) & 0xFFFFFFFF
    except (ImportError, AttributeError):
        crc = 0xFFFFFFFF
        for i in range(start, len(buf)):
            crc ^= buf[i] & 0xFF
            for _ in range(8):
                crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
        return crc ^ 0xFFFFFFFF


class _Reader:
    def __init__(self, buf, path):
        self.buf, self.path = buf, path
        n = len(buf)
        if n < 8 or bytes(memoryview(buf)[0:4]) != b"TCNN":
            self.fail("not a tinycnn blob (bad magic or too short)")
        version = struct.unpack_from("<H", buf, 4)[0]
        if version != _BLOB_VERSION:
            self.fail("blob format version %d is not supported by this tinycnn_mp (reads v%d); "
                      "convert the model again and re-export" % (version, _BLOB_VERSION))
        if n < _HEADER_SIZE:
            self.fail("%d bytes is too short for a tinycnn blob" % n)
        h = struct.unpack_from(_HEADER, buf, 0)
        if h[3] != n:
            self.fail("truncated or padded: header says %d bytes, file has %d" % (h[3], n))
        if h[2] != _HEADER_SIZE:
            self.fail("unexpected header size %d" % h[2])
        self.sec = {}
        for k, name in enumerate(_SECTIONS):
            off, count = h[6 + 2 * k], h[7 + 2 * k]
            if count < 0 or off < _HEADER_SIZE or off % 16 or off + count * _UNIT.get(name, 1) > n:
                self.fail(name + " section out of bounds or misaligned")
            self.sec[name] = (off, count)
        self.arena_bytes, self.n_in, self.in_off, self.n_out, self.out_off = h[24:29]
        if _crc32(buf, _HEADER_SIZE) != h[4]:
            self.fail("checksum mismatch: the blob is corrupt")

    def fail(self, msg):
        raise BlobError("%s: %s" % (self.path, msg))

    def record(self, section, fmt, size, i):
        return struct.unpack_from(fmt, self.buf, self.sec[section][0] + i * size)

    def indices(self, off, count, allow_absent, where):
        n_index, n_t = self.sec["index"][1], self.sec["tensors"][1]
        if count < 0 or off < 0 or off + count > n_index:
            self.fail("%s: index list outside the index section" % where)
        idx = struct.unpack_from("<%di" % count, self.buf, self.sec["index"][0] + 4 * off) if count else ()
        for k in idx:
            if not (0 <= k < n_t or (allow_absent and k == -1)):
                self.fail("%s: tensor index %d out of range" % (where, k))
        return list(idx)

    def payload(self, off, nbytes, dcode, shape, where):
        if not 0 <= dcode < len(_DTYPES):
            self.fail("%s: unknown dtype code %d" % (where, dcode))
        dtype = _DTYPES[dcode]
        count = 1
        for d in shape:
            count *= d
        p_off, p_size = self.sec["payload"]
        if off < 0 or nbytes < 0 or off % 16 or off + nbytes > p_size or min(shape + (0,)) < 0 or \
                count * _ITEMSIZE[dtype] != nbytes:
            self.fail("%s: array at %d (%d B, shape %s) is misaligned, outside the payload or "
                      "the wrong size" % (where, off, nbytes, list(shape)))
        return (dtype, p_off + off, nbytes, shape)

    def array(self, k, where):
        if not 0 <= k < self.sec["arrays"][1]:
            self.fail("%s: array index %d out of range" % (where, k))
        r = self.record("arrays", "<8i", 32, k)
        if not 0 <= r[3] <= 4:
            self.fail("%s: array rank %d is invalid" % (where, r[3]))
        return self.payload(r[0], r[1], r[2], tuple(r[4:4 + r[3]]), where)

    def fields(self, op, off, size, where):
        layout, words = _layout(op)
        r_off, r_size = self.sec["records"]
        if size != 4 * words or off < 0 or off % 4 or off + size > r_size:
            self.fail("%s: record does not fit the %s layout or the records section" % (where, op))
        w = struct.unpack_from("<%di" % words, self.buf, r_off + off)
        attrs, params = {}, {}
        for bit, (name, kind, pos) in enumerate(layout):
            if not (w[0] >> bit) & 1:
                continue
            if kind == "a":
                params[name] = self.array(w[pos], "%s param '%s'" % (where, name))
            elif kind == "i" or kind == "b":
                attrs[name] = w[pos] if kind == "i" else bool(w[pos])
            elif kind == "i2" or kind == "i4":
                attrs[name] = list(w[pos:pos + _KIND_WORDS[kind]])
            elif kind == "v6" or kind == "m6":
                n = w[pos]
                if not 0 <= n <= 6:
                    self.fail("%s attr '%s': length %d is invalid" % (where, name, n))
                attrs[name] = (list(w[pos + 1:pos + 1 + n]) if kind == "v6" else
                               [list(w[pos + 1 + 2 * r:pos + 3 + 2 * r]) for r in range(n)])
            else:
                values = _ENUMS[kind[2:]]
                if not 0 <= w[pos] < len(values):
                    self.fail("%s attr '%s': enum code %d is unknown" % (where, name, w[pos]))
                attrs[name] = values[w[pos]]
        return attrs, params


def _read_blob(buf, path):
    r = _Reader(buf, path)
    g = _Graph()
    g.tensors, g.nodes, g.arena_bytes = [], [], r.arena_bytes
    for i in range(r.sec["tensors"][1]):
        rec = r.record("tensors", "<16i", 64, i)
        dcode, rank, flags = rec[0], rec[1], rec[2]
        if not 0 <= dcode < len(_DTYPES) or not 0 <= rank <= 6:
            r.fail("tensor #%d: unknown dtype code %d or rank %d" % (i, dcode, rank))
        shape = tuple(rec[3:3 + rank])
        t = {"name": "t%d" % i, "dtype": _DTYPES[dcode], "shape": shape, "data": None, "arena": rec[12]}
        if flags & 1:
            t["data"] = r.payload(rec[9], rec[10], dcode, shape, "tensor #%d" % i)
        g.tensors.append(t)
    for i in range(r.sec["ops"][1]):
        code, variant, n_in, ins, n_out, outs, f_off, f_size = r.record("ops", "<10i", 40, i)[:8]
        where = "op #%d" % i
        if not 0 <= code < len(_OP_CODES):
            r.fail("%s has unknown op code %d" % (where, code))
        if not 0 <= variant < len(_VARIANTS):
            r.fail("%s has unknown kernel variant code %d" % (where, variant))
        op = _OP_CODES[code]
        where = "op #%d (%s)" % (i, op)
        attrs, params = r.fields(op, f_off, f_size, where)
        if variant:
            attrs["kernel_variant"] = _VARIANTS[variant]
        if n_out < 1:
            r.fail("%s has no output" % where)
        g.nodes.append((op, "#%d" % i, r.indices(ins, n_in, True, where), r.indices(outs, n_out, False, where),
                        attrs, params))
    for what, n in (("input", r.n_in), ("output", r.n_out)):
        if not 0 < n <= r.sec["tensors"][1]:
            r.fail("graph %s count %d is invalid" % (what, n))
    if any(not _OP_FIELDS[n[0]] for n in g.nodes):
        _host_fields(r, g)
    g.inputs = r.indices(r.in_off, r.n_in, False, "graph inputs")
    g.outputs = r.indices(r.out_off, r.n_out, False, "graph outputs")
    return g


def _host_fields(r, g):
    """Attributes / parameter arrays of ops without a fixed record layout (the segmentation
    ops): the host section's JSON {"attrs": {op index: {...}}, "params": {op index: {name:
    array index}}}, read only when the blob has such an op."""
    try:
        import json
    except ImportError:
        r.fail("this MicroPython has no json module (needed for the ops %s)" % ", ".join(
            sorted(set(n[0] for n in g.nodes if not _OP_FIELDS[n[0]]))))
    off, size = r.sec["host"]
    raw = bytes(memoryview(r.buf)[off:off + size])
    try:
        doc = json.loads(raw.split(b"\0", 1)[0]) if size else {}
        attrs, params = doc.get("attrs", {}), doc.get("params", {})
    except (ValueError, AttributeError):
        r.fail("host section is not a JSON object")
    for k, n in enumerate(g.nodes):
        if _OP_FIELDS[n[0]]:
            continue
        where = "op #%d (%s)" % (k, n[0])
        a, p = attrs.get(str(k), {}), params.get(str(k), {})
        if not isinstance(a, dict) or not isinstance(p, dict):
            r.fail("%s: host attributes are not JSON objects" % where)
        n[4].update(a)
        for name, idx in p.items():
            if not isinstance(idx, int):
                r.fail("%s param '%s': array index is not an integer" % (where, name))
            n[5][name] = r.array(idx, "%s param '%s'" % (where, name))
