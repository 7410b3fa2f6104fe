"""The blob: round trip, and every kind of corruption detected before a kernel runs."""
import struct

import numpy as np
import pytest

import tinycnn
from tests.conftest import DATA
from tinycnn.blob.format import HEADER
from tinycnn.blob.reader import graph_from_bytes, read_blob
from tinycnn.errors import BlobError

EX = DATA.parent.parent / "examples"


@pytest.fixture(scope="module")
def blob(tmp_path_factory):
    return tinycnn.convert(EX / "digits_cnn.onnx", calib=EX / "digits_calib.npz",
                           output=tmp_path_factory.mktemp("b") / "d.tcnn")


def test_roundtrip_preserves_graph(blob):
    from tinycnn.blob.writer import graph_to_bytes
    g = read_blob(blob)
    again = graph_from_bytes(graph_to_bytes(g))
    assert [n.op for n in again.nodes] == [n.op for n in g.nodes]
    for name, t in g.tensors.items():
        if t.is_const:
            np.testing.assert_array_equal(t.data, again.tensors[name].data)
    for a, b in zip(g.nodes, again.nodes):
        assert a.attrs == b.attrs
        for k in a.params:
            np.testing.assert_array_equal(a.params[k], b.params[k])


def test_sections_and_arrays_are_aligned(blob):
    """A C runtime can use the weights in place: every section and every array is 16-byte aligned."""
    from tinycnn.blob.format import FLAG_CONST, TENSOR
    raw = blob.read_bytes()
    fields = HEADER.unpack_from(raw)
    assert all(off % 16 == 0 for off in fields[5:17:2])
    tensors_off, tensor_count, payload_off = fields[7], fields[8], fields[13]
    consts = 0
    for i in range(tensor_count):
        rec = TENSOR.unpack_from(raw, tensors_off + i * TENSOR.size)
        if rec[3] & FLAG_CONST:
            data_off = rec[-3]
            assert (payload_off + data_off) % 16 == 0
            consts += 1
    assert consts >= 8


@pytest.mark.parametrize("damage, message", [
    (lambda r: r[:20], "too short"),
    (lambda r: r[:-7], "truncated"),
    (lambda r: b"XXXX" + r[4:], "not a tinycnn blob"),
    (lambda r: r[:4] + struct.pack("<H", 99) + r[6:], "version 99"),
    (lambda r: r[:-1] + bytes([r[-1] ^ 0xFF]), "checksum"),
    (lambda r: r[:200] + bytes([r[200] ^ 0x01]) + r[201:], "checksum"),
])
def test_corruption_is_detected(blob, tmp_path, damage, message):
    bad = tmp_path / "bad.tcnn"
    bad.write_bytes(damage(blob.read_bytes()))
    with pytest.raises(BlobError, match=message):
        tinycnn.load(bad)


def test_out_of_bounds_array_detected_even_with_valid_crc(blob, monkeypatch):
    """A blob whose checksum is valid but whose array table points outside the payload
    (a writer bug, or a crafted file) is refused by the bounds check."""
    from tinycnn.blob import writer
    original = writer._Sections.array

    def bad_add(self, array):
        off, nbytes = original(self, array)
        return off + (1 << 20), nbytes
    g = read_blob(blob)
    monkeypatch.setattr(writer._Sections, "array", bad_add)
    raw = writer.graph_to_bytes(g)
    with pytest.raises(BlobError, match="outside the payload"):
        graph_from_bytes(raw)


def test_shape_mismatch_detected(blob, monkeypatch):
    from tinycnn.blob import writer
    original = writer._Sections.array

    def bad_add(self, array):
        off, nbytes = original(self, array)
        return off, nbytes + 16  # the recorded size no longer matches shape x dtype
    g = read_blob(blob)
    monkeypatch.setattr(writer._Sections, "array", bad_add)
    with pytest.raises(BlobError, match="does not match"):
        graph_from_bytes(writer.graph_to_bytes(g))


def test_write_is_atomic_on_failure(tmp_path, monkeypatch):
    """A failed write leaves neither a partial blob nor a temp file behind."""
    import tinycnn.blob.writer as writer
    target = tmp_path / "out.tcnn"

    def boom(graph):
        raise RuntimeError("disk full")
    monkeypatch.setattr(writer, "graph_to_bytes", boom)
    with pytest.raises(RuntimeError):
        tinycnn.convert(EX / "digits_cnn.onnx", calib=EX / "digits_calib.npz", output=target)
    assert list(tmp_path.iterdir()) == []


def test_weights_are_read_only_after_load(blob):
    m = tinycnn.load(blob)
    consts = [t.data for t in m.graph.tensors.values() if t.is_const]
    assert consts and all(not a.flags.writeable for a in consts)


def test_a_c_program_walks_the_blob_in_place(blob, tmp_path):
    """The format's claim: fixed records a C runtime can walk without a parser. A small C
    program (tests/c/blob_walk.c) checks magic, version and CRC-32 and lists tensors and ops;
    its view must equal the Python reader's."""
    import shutil
    import subprocess
    from tests.conftest import ROOT
    from tinycnn.blob.format import DTYPE_CODES, OP_INDEX
    gcc = shutil.which("gcc") or shutil.which("cc")
    assert gcc, "a C compiler is part of the test environment (Debian image: gcc)"
    exe = tmp_path / "blob_walk"
    subprocess.run([gcc, "-std=c11", "-O1", "-Wall", "-Werror", "-o", str(exe), str(ROOT / "tests" / "c" / "blob_walk.c")],
                   check=True)
    out = subprocess.run([str(exe), str(blob)], capture_output=True, text=True, check=True).stdout.splitlines()
    g = read_blob(blob)
    names = list(g.tensors)
    expected = []
    for t in g.tensors.values():
        line = f"tensor {t.name} dtype={DTYPE_CODES[t.dtype]} shape=" + "x".join(str(d) for d in t.shape)
        if t.is_const:
            line += f" const={t.data.nbytes}"
        if t.quant is not None:
            line += f" qcount={len(t.quant.scale)}"
        expected.append(line)
    for n in g.nodes:
        ins = ",".join(str(names.index(i)) if i else "-1" for i in n.inputs)
        expected.append(f"op {n.name} code={OP_INDEX[n.op.value]} inputs={ins} attrs={len(n.attrs)}")
    assert out == expected


def _first(g, op):
    from tinycnn.ir import Op
    return next(n for n in g.nodes if n.op == Op(op))


def _shift_short(g):
    n = _first(g, "CONV_2D")
    n.params["output_shift"] = n.params["output_shift"][:1].copy()


def _out_shape_big(g):
    n = _first(g, "CONV_2D")
    t = g.tensors[n.outputs[0]]
    t.shape = (t.shape[0], t.shape[1] * 4, t.shape[2] * 4, t.shape[3])


def _swap_order(g):
    g.nodes[0], g.nodes[1] = g.nodes[1], g.nodes[0]


def _negative_pad(g):
    _first(g, "CONV_2D").attrs["pad"] = [-3, -3, 0, 0]


def _zero_stride(g):
    _first(g, "DEPTHWISE_CONV_2D").attrs["stride"] = [0, 0]


def _missing_field(g):
    del _first(g, "CONV_2D").attrs["act_min"]


def _weights_mismatch(g):
    n = _first(g, "FULLY_CONNECTED")
    w = g.tensors[n.inputs[1]]
    w.data = np.ascontiguousarray(w.data[:, :-2])
    w.shape = w.data.shape


def _quant_count(g):
    t = g.tensors[g.inputs[0]]
    t.quant.scale = np.ones(3, np.float32)
    t.quant.zero_point = np.zeros(3, np.int32)


@pytest.mark.parametrize("corrupt, message", [
    (_shift_short, "output_shift"), (_out_shape_big, "declared output shape"),
    (_swap_order, "before any node computes it"), (_negative_pad, "'pad'"), (_zero_stride, "'stride'"),
    (_missing_field, "act_min"), (_weights_mismatch, "do not match input"),
    (_quant_count, "quantization scale"),
])
def test_inconsistent_graph_with_valid_crc_is_refused(blob, corrupt, message):
    """A well-formed blob (valid CRC, all arrays in bounds) whose graph is inconsistent would
    make the unchecked Numba kernels read or write out of bounds: the reader refuses it."""
    from tinycnn.blob.writer import graph_to_bytes
    g = read_blob(blob)
    corrupt(g)
    with pytest.raises(BlobError, match=message):
        graph_from_bytes(graph_to_bytes(g))
