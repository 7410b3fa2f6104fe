

# ---------------------------------------------------------------- plan + run
_ARENA_TYPE = {"int8": "b", "uint8": "B", "int16": "h", "uint32": "B"}  # packed bits as bytes
_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}


def _zeros(tc, n):
    if _MPY:
        a = array.array(tc, range(n))  # preallocated at its final length, then cleared
        for i in range(n):
            a[i] = 0
        return a
    return array.array(tc, [0] * n)


def _prod(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _as4d(shape):
    if len(shape) == 4:
        return shape
    if len(shape) == 2:
        return (shape[0], 1, 1, shape[1])
    if len(shape) == 3:
        return (shape[0], 1, shape[1], shape[2])
    return (1, 1, 1, _prod(shape))


class Model:
    """A loaded blob: one arena per activation dtype, planned once; run() allocates no buffers."""

    def __init__(self, buf, path):
        g = _read_blob(buf, path)
        self.path, self._buf, self._g = path, buf, g
        self.arena_bytes = 0
        self._views = [None] * len(g.tensors)
        self._plan(g)
        self._patch = _zeros("i", max([1] + [self._patch_len(n) for n in g.nodes]))
        self.scratch_bytes = 4 * len(self._patch)
        self._calls = [self._bind(n) for n in g.nodes]
        self.inputs = [(g.tensors[i]["dtype"], g.tensors[i]["shape"]) for i in g.inputs]
        self.outputs = [(g.tensors[i]["dtype"], g.tensors[i]["shape"]) for i in g.outputs]
        self._outs = [_zeros(_ARENA_TYPE[g.tensors[i]["dtype"]], self._numel(i)) for i in g.outputs]
        self._in_io = [(self._views[i], self._numel(i), "input #%d (%s %s, NHWC)" % (
            k, g.tensors[i]["dtype"], list(self._shape(i)))) for k, i in enumerate(g.inputs)]
        self._out_io = [self._views[i] for i in g.outputs]
        self.probe = None  # optional callable(node_index) after every node (heap measurement)
        self.n_nodes = len(g.nodes)
        self._g = self._views = None  # the graph description is not needed to run: free it

    # ---- shapes and storage
    def _shape(self, i):
        return tuple(1 if d < 0 else d for d in self._g.tensors[i]["shape"])

    def _numel(self, i):
        t = self._g.tensors[i]
        n = _prod(self._shape(i))
        return 4 * n if t["dtype"] == "uint32" else n

    def _fail(self, node, msg):
        raise BlobError("%s: node '%s' (%s): %s" % (self.path, node[1], node[0], msg))

    def _plan(self, g):
        """Greedy-by-size offsets per dtype arena over [first, last] node lifetimes."""
        life, last = {}, len(g.nodes)
        for i in g.inputs:
            life[i] = [-1, -1]
        for k, node in enumerate(g.nodes):
            for i in node[2]:
                if i >= 0 and g.tensors[i]["data"] is None:
                    if i not in life:
                        self._fail(node, "input tensor is neither a graph input nor computed earlier")
                    life[i][1] = k
            for i in node[3]:
                life[i] = [k, k]
        for i in g.outputs:
            life[i][1] = last
        if self._blob_plan(g, life):
            return
        placed, size = {}, {}
        for i in sorted(life, key=lambda t: -self._numel(t)):
            dt = g.tensors[i]["dtype"]
            if dt not in _ARENA_TYPE:
                raise BlobError("%s: tensor '%s' is %s; tinycnn_mp runs int8 / int16x8 / binary "
                                "blobs (convert with --scheme int8 or binary)" % (self.path, g.tensors[i]["name"], dt))
            tc, n, a, b = _ARENA_TYPE[dt], self._numel(i), life[i][0], life[i][1]
            busy = sorted((o, o + m) for (j, o, m, tc2) in placed.values()
                          if tc2 == tc and not (life[j][1] < a or life[j][0] > b))
            off = 0
            for lo, hi in busy:
                if off + n <= lo:
                    break
                off = max(off, hi)
            placed[i] = (i, off, n, tc)
            size[tc] = max(size.get(tc, 0), off + n)
        arenas = {tc: _zeros(tc, n) for tc, n in size.items()}
        for i, (_, off, n, tc) in placed.items():
            self._views[i] = (arenas[tc], off)
        self.arena_bytes = sum(n * {"h": 2, "i": 4}.get(tc, 1) for tc, n in size.items())
        self._arenas = arenas

    def _blob_plan(self, g, life):
        """All activations int8 with offsets in the blob's arena plan (firmware_sim's planner,
        the C runtime's arena): use that one arena as it is."""
        n = g.arena_bytes
        if n <= 0 or any(g.tensors[i]["dtype"] != "int8" or g.tensors[i]["arena"] < 0 or
                         g.tensors[i]["arena"] + self._numel(i) > n for i in life):
            return False
        arena = _zeros("b", n)
        for i in life:
            self._views[i] = (arena, g.tensors[i]["arena"])
        self.arena_bytes, self._arenas = n, {"b": arena}
        return True

    def _const(self, loc):
        dt, off, nbytes, shape = loc
        buf = self._buf
        if dt == "int8":
            return buf, off
        if dt in ("uint8", "uint32"):
            return bytearray(memoryview(buf)[off:off + nbytes]), 0
        code = {"int16": "h", "int32": "i", "int64": "q", "float32": "f"}.get(dt)
        if code is None:
            raise BlobError("%s: constant of type %s is not supported by tinycnn_mp" % (self.path, dt))
        vals = struct.unpack_from("<%d%s" % (nbytes // _ITEMSIZE[dt], code), buf, off)
        return (list(vals) if dt == "int64" else array.array(code, vals)), 0

    def _in(self, i):
        t = self._g.tensors[i]
        if t["data"] is not None:
            return self._const(t["data"])
        return self._views[i]

    def _param(self, node, key):
        """A prepared parameter array, copied (they are small: per-channel vectors, tables)."""
        p = node[5].get(key)
        if p is None:
            self._fail(node, "prepared parameter '%s' missing" % key)
        if p[0] == "int8":
            return array.array("b", struct.unpack_from("<%db" % p[2], self._buf, p[1]))
        return self._const(p)[0]

    def _patch_len(self, node):
        if node[0] != "CONV_2D":
            return 0
        s = self._g.tensors[node[2][1]]["shape"]
        return s[1] * s[2] * s[3]

    def _bind(self, node):
        op, attrs = node[0], node[4]
        key = (op, attrs.get("kernel_variant"))
        fn = _BINDERS.get(key) or _BINDERS.get(op)
        if fn is None or (key[1] is not None and key not in _BINDERS and key[1] != "int16x8"):
            self._fail(node, "not supported by tinycnn_mp (supported: %s)" % ", ".join(sorted(
                set(k if isinstance(k, str) else "%s/%s" % k for k in _BINDERS))))
        try:
            return fn(self, node, attrs)
        except (KeyError, IndexError, TypeError) as exc:
            self._fail(node, "cannot prepare its kernel: %r" % (exc,))

    # ---- public
    def run(self, *xs):
        """Run on the input(s): array('b') / bytearray (int8), array('B') (uint8) or array('h')
        (int16) in NHWC order. Returns the output array(s), reused by the next run."""
        if len(xs) != len(self._in_io):
            raise ValueError("the model has %d input(s); got %d" % (len(self._in_io), len(xs)))
        for ((buf, off), n, what), x in zip(self._in_io, xs):
            mv = memoryview(x)
            if len(mv) != n:
                raise ValueError("%s needs %d values; got %d" % (what, n, len(mv)))
            memoryview(buf)[off:off + n] = mv
        probe = self.probe
        for k, call in enumerate(self._calls):
            call()
            if probe is not None:
                probe(k)
        for (buf, off), out in zip(self._out_io, self._outs):
            memoryview(out)[:] = memoryview(buf)[off:off + len(out)]
        return self._outs[0] if len(self._outs) == 1 else self._outs


def load(path):
    """Read a .tcnn blob (checked before use) and plan its arena."""
    import os
    size = os.stat(path)[6]
    buf = _zeros("b", size)
    with open(path, "rb") as f:
        if f.readinto(buf) != size:
            raise BlobError("%s: short read" % path)
    return Model(buf, path)
