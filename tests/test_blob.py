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
    from tinycnn.blob.format import ARRAY, FLAG_CONST, SECTIONS, TENSOR
    raw = blob.read_bytes()
    fields = HEADER.unpack_from(raw)
    sec = {name: fields[6 + 2 * i:8 + 2 * i] for i, name in enumerate(SECTIONS)}
    assert all(off % 16 == 0 for off, _ in sec.values())
    payload_off = sec["payload"][0]
    consts = 0
    for i in range(sec["tensors"][1]):
        rec = TENSOR.unpack_from(raw, sec["tensors"][0] + i * TENSOR.size)
        if rec[2] & FLAG_CONST:
            assert (payload_off + rec[9]) % 16 == 0
            consts += 1
    for i in range(sec["arrays"][1]):
        assert (payload_off + ARRAY.unpack_from(raw, sec["arrays"][0] + i * ARRAY.size)[0]) % 16 == 0
    assert consts >= 8 and sec["arrays"][1] >= 8


def test_v2_blob_is_refused_with_a_clear_message(blob, tmp_path):
    old = tmp_path / "old.tcnn"
    old.write_bytes(b"TCNN" + struct.pack("<HH", 2, 72) + bytes(200))
    with pytest.raises(BlobError, match="blob format v2 .* convert the model again"):
        tinycnn.load(old)


def test_strip_drops_debug_and_runs_identically(blob, tmp_path):
    """--strip leaves out names, source names, float scales and metadata the runtime does not
    read: the blob is smaller and gives the same outputs (the definition of 'debug')."""
    from tinycnn.blob.writer import graph_to_bytes
    g = read_blob(blob)
    full, stripped = graph_to_bytes(g), graph_to_bytes(g, strip=True)
    assert len(stripped) < 0.7 * len(full)
    s = graph_from_bytes(stripped)
    assert all(n.name.startswith("op") and "source_name" not in n.attrs for n in s.nodes)
    x = np.random.default_rng(1).integers(-128, 128, (4,) + g.tensors[g.inputs[0]].shape[1:]).astype(np.int8)
    a = tinycnn.runtime.Model(g).run_quantized([x])[0]
    np.testing.assert_array_equal(a, tinycnn.runtime.Model(s).run_quantized([x])[0])
    assert a.std() > 0


def test_convert_strip_cli(tmp_path):
    import subprocess
    import sys
    from tests.conftest import ROOT
    out = tmp_path / "s.tcnn"
    r = subprocess.run([sys.executable, "-m", "tinycnn.cli", "convert", str(EX / "digits_cnn.onnx"), "--calib",
                        str(EX / "digits_calib.npz"), "--strip", "--quiet", "-o", str(out)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert HEADER.unpack_from(out.read_bytes())[5] == 0  # flags: no debug section
    assert read_blob(out).nodes[0].name == "op0"


def test_arena_plan_is_stored_and_valid(blob):
    """One arena offset per activation tensor, from firmware_sim's planner at batch 1: live
    tensors never overlap, and the plan equals the planner's."""
    from firmware_sim.device import buffer_sizes
    from firmware_sim.memory_plan import plan_graph
    from tinycnn.blob.reader import arena_offsets
    offs, arena = arena_offsets(blob.read_bytes())
    g = read_blob(blob)
    names = list(g.tensors)
    plan = plan_graph(g, buffer_sizes(g))
    assert arena == plan.arena_bytes > 0
    acts = [n for n, t in g.tensors.items() if not t.is_const]
    assert {names[i]: o for i, o in offs.items()} == {n: plan.offsets[n] for n in acts}


def test_c_layout_header_is_current():
    from tests.conftest import ROOT
    from tinycnn.blob.format import c_layout_header
    path = ROOT / "firmware_sim" / "c_runtime" / "runtime" / "tcnn_layout.h"
    assert path.read_text() == c_layout_header(), "regenerate tcnn_layout.h from tinycnn/blob/format.py"


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

    def boom(graph, strip=False):
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
    """The format's claim: fixed int32 records a C runtime walks without a parser. A small C
    program (tests/c/blob_walk.c) checks magic, version and CRC-32, lists tensors and ops and
    decodes the first conv fully; its view must equal the Python reader's."""
    import shutil
    import subprocess
    from tests.conftest import ROOT
    from tinycnn.blob.format import DTYPE_CODES, KERNEL_VARIANTS, OP_INDEX
    from tinycnn.blob.reader import arena_offsets
    from tinycnn.ir import Op
    gcc = shutil.which("gcc") or shutil.which("cc")
    assert gcc, "a C compiler is part of the test environment (Debian image: gcc)"
    exe = tmp_path / "blob_walk"
    subprocess.run([gcc, "-std=c11", "-O1", "-Wall", "-Werror", "-I", str(ROOT / "firmware_sim" / "c_runtime" / "runtime"),
                    "-o", str(exe), str(ROOT / "tests" / "c" / "blob_walk.c")], check=True)
    out = subprocess.run([str(exe), str(blob)], capture_output=True, text=True, check=True).stdout.splitlines()
    g = read_blob(blob)
    names = list(g.tensors)
    offs, arena = arena_offsets(blob.read_bytes())
    expected = []
    io = set(g.inputs) | set(g.outputs)
    for i, t in enumerate(g.tensors.values()):
        line = f"tensor {i} dtype={DTYPE_CODES[t.dtype]} shape=" + "x".join(str(d) for d in t.shape)
        if t.is_const:
            line += f" const={t.data.nbytes}"
        if t.quant is not None and t.name in io:
            line += f" qcount={len(t.quant.scale)}"
        if i in offs:
            line += f" arena={offs[i]}"
        expected.append(line)
    for k, n in enumerate(g.nodes):
        ins = ",".join(str(names.index(i)) if i else "-1" for i in n.inputs)
        outs = ",".join(str(names.index(o)) for o in n.outputs)
        variant = KERNEL_VARIANTS.index(n.attrs.get("kernel_variant", ""))
        expected.append(f"op {k} code={OP_INDEX[n.op.value]} variant={variant} inputs={ins} outputs={outs}")
    k, conv = next((k, n) for k, n in enumerate(g.nodes) if n.op == Op.CONV_2D)
    a, p = conv.attrs, conv.params
    w, b = (g.tensors[i].data for i in conv.inputs[1:])
    expected.append(
        f"conv {k} stride={a['stride'][0]},{a['stride'][1]} dilation={a['dilation'][0]},{a['dilation'][1]} "
        f"pad={','.join(map(str, a['pad']))} groups={a['groups']} input_offset={a['input_offset']} "
        f"output_offset={a['output_offset']} act_min={a['act_min']} act_max={a['act_max']} "
        f"multiplier={','.join(map(str, p['output_multiplier']))} shift={','.join(map(str, p['output_shift']))} "
        f"weights_sum={int(w.astype(np.int64).sum())} bias_sum={int(b.astype(np.int64).sum())}")
    expected.append(f"arena={arena}")
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
