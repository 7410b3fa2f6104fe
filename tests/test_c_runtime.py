"""The C runtime (firmware_sim/c_runtime/runtime/), host build with gcc: bit-exact with the Python
runtime (itself tested against TFLite Micro / tflite-runtime) on fixture models of every kind —
ONNX and Keras int8, 16x8, binary (BNN, Larq, --scheme binary), TFLite int8 (TFLM softmax) and
legacy uint8, the bundled example — on real and random inputs; and it refuses a corrupt blob
before running anything. The runtime is built once per session into a tmp dir."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

import tinycnn
from tests.conftest import DATA, ROOT

RUNTIME = ROOT / "firmware_sim" / "c_runtime" / "runtime"
EX = ROOT / "examples"
ONNX, KERAS, TFLITE, BNN = DATA / "onnx", DATA / "keras", DATA / "tflite", DATA / "bnn"
# name -> (model file, convert options)
MODELS = {
    "digits_example": (EX / "digits_cnn.onnx", {}),
    "digits_scheme_binary": (EX / "digits_cnn.onnx", {"scheme": "binary"}),
    "onnx_resnet": (ONNX / "resnet.onnx", {}), "onnx_inception": (ONNX / "inception.onnx", {}),
    "onnx_mobilenet_v3": (ONNX / "mobilenet_v3.onnx", {}), "onnx_misc_ops": (ONNX / "misc_ops.onnx", {}),
    "keras_nested": (KERAS / "nested.keras", {}), "keras_conv1d": (KERAS / "conv1d.keras", {}),
    "tflite_ds_cnn_kws": (TFLITE / "ds_cnn_kws.tflite", {}), "tflite_misc_ops": (TFLITE / "misc_ops.tflite", {}),
    "tflite_mobilenet_v3": (TFLITE / "mobilenet_v3.tflite", {}),
    "tflite_legacy_uint8": (TFLITE / "legacy_uint8.tflite", {}),
    "tflite_legacy_uint8_mbnet": (TFLITE / "uint8" / "legacy_uint8_mbnet.tflite", {}),  # kernel variant uint8
    "tflite_int16x8_kws": (TFLITE / "int16x8_kws.tflite", {}), "tflite_int16x8_conv1d": (TFLITE / "int16x8_conv1d.tflite", {}),
    "bnn": (BNN / "bnn_digits.onnx", {}), "larq": (BNN / "larq_digits.h5", {}),
    "int16x8_mobilenet_v2": (ONNX / "mobilenet_v2.onnx", "int16x8"), "int16x8_inception": (ONNX / "inception.onnx", "int16x8"),
}


@pytest.fixture(scope="session")
def run_model(tmp_path_factory):
    gcc = shutil.which("gcc")
    assert gcc, "gcc is part of the test environment"
    exe = tmp_path_factory.mktemp("c_runtime") / "run_model"
    sources = [ROOT / "tests" / "c" / "run_model.c", RUNTIME / "tcnn_runtime.c", *sorted((RUNTIME / "kernels").glob("*.c"))]
    subprocess.run([gcc, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-I", str(RUNTIME), "-o", str(exe),
                    *map(str, sources)], check=True)
    return exe


@pytest.fixture(scope="session")
def run_model_dsp(tmp_path_factory):
    """run_model for Armv7 Thumb-2 with the DSP extension (__ARM_FEATURE_DSP: the SMLAD/SXTB16
    kernels of Armv7E-M), newlib semihosting, run by qemu-arm (user mode)."""
    gcc, qemu = shutil.which("arm-none-eabi-gcc"), shutil.which("qemu-arm")
    assert gcc and qemu, "arm-none-eabi-gcc and qemu-arm are part of the test environment (make c-toolchain)"
    elf = tmp_path_factory.mktemp("c_runtime_dsp") / "run_model.elf"
    sources = [ROOT / "tests" / "c" / "run_model.c", RUNTIME / "tcnn_runtime.c", *sorted((RUNTIME / "kernels").glob("*.c"))]
    subprocess.run([gcc, "-mcpu=cortex-a7", "-mthumb", "-mfloat-abi=soft", "-O2", "-std=c99", "-Wall", "-Wextra", "-Werror",
                    "--specs=rdimon.specs", "-I", str(RUNTIME), "-o", str(elf), *map(str, sources)], check=True)
    dump = subprocess.run([gcc.replace("gcc", "objdump"), "-d", str(elf)], capture_output=True, text=True).stdout
    assert "smlad" in dump and "sxtb16" in dump
    return [qemu, str(elf)]


def _data(path):
    name = "digits" if path.parent == EX else path.stem
    if path.parent == EX:
        z = np.load(EX / "digits_calib.npz")
        calib = test = z[list(z.keys())[0]]
    else:
        z = np.load(path.parent / f"{name}_data.npz")
        calib = z["x_calib"] if "x_calib" in z else z[list(z.keys())[0]]
        test = z["x_test"] if "x_test" in z else calib
    return calib[:64], test[:3]


def _blob(name, tmp_path):
    path, opts = MODELS[name]
    calib, test = _data(path)
    if opts == "int16x8":  # all wideable layers 16x8 (tinycnn/quant/int16x8.py)
        from tinycnn.blob.writer import write_blob
        from tinycnn.convert import import_model, to_nhwc
        from tinycnn.quant.calibrate import calibrate
        from tinycnn.quant.int8 import QuantConfig, quantize_int8
        from tinycnn.quant.int16x8 import wideable_layers, widen_int16x8
        g = import_model(path)
        obs = calibrate(g, [to_nhwc(g, calib)])
        q8 = quantize_int8(g, obs, QuantConfig())
        blob = write_blob(widen_int16x8(q8, g, obs, wideable_layers(q8)), tmp_path / f"{name}.tcnn")
    else:
        blob = tinycnn.convert(path, calib=calib, output=tmp_path / f"{name}.tcnn", **opts)
    return blob, test


def _run_c(exe, blob, xs, tmp_path):
    n = len(xs[0])
    (tmp_path / "in.bin").write_bytes(b"".join(x[k].tobytes() for k in range(n) for x in xs))
    if isinstance(exe, list):  # qemu-arm: semihosting passes a short command line; run in tmp_path
        shutil.copy(exe[1], tmp_path / "m.elf")
        shutil.copy(blob, tmp_path / "m.tcnn")
        r = subprocess.run([exe[0], "m.elf", "m.tcnn", "in.bin", "out.bin"], capture_output=True, text=True, cwd=tmp_path)
    else:
        r = subprocess.run([str(exe), str(blob), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")],
                           capture_output=True, text=True)
    return r, np.fromfile(tmp_path / "out.bin", np.uint8) if r.returncode == 0 else None


def _inputs(m, test):
    from tinycnn.convert import to_nhwc
    g = m.graph
    rng = np.random.default_rng(7)
    xs = []
    for k, t in enumerate(g.tensors[i] for i in g.inputs):
        info = np.iinfo(t.dtype)
        noise = rng.integers(info.min, info.max + 1, (3,) + tuple(t.shape[1:])).astype(t.dtype)
        real = m.quantize_input(to_nhwc(g, np.asarray(test, np.float32), k), k) if len(g.inputs) == 1 else noise
        xs.append(np.concatenate([real, noise]))
    return xs


def _expected(m, xs):
    ys = m.run_quantized(xs)
    want = np.concatenate([np.concatenate([y[k].reshape(-1).view(np.uint8) for y in ys]) for k in range(len(xs[0]))])
    assert len(np.unique(want)) > 3  # outputs vary
    return want


@pytest.mark.parametrize("name", ["digits_example", "onnx_resnet", "onnx_mobilenet_v3", "tflite_ds_cnn_kws",
                                  "tflite_legacy_uint8", "int16x8_inception", "bnn"])
def test_dsp_build_is_bit_exact_with_the_python_runtime(run_model_dsp, name, tmp_path):
    """The SMLAD/SXTB16 conv, 1x1, depthwise and FC paths give the portable kernels' sums."""
    blob, test = _blob(name, tmp_path)
    m = tinycnn.load(blob)
    xs = _inputs(m, test)
    r, got = _run_c(run_model_dsp, blob, xs, tmp_path)
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(got, _expected(m, xs))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_host_build_is_bit_exact_with_the_python_runtime(run_model, name, tmp_path):
    blob, test = _blob(name, tmp_path)
    m = tinycnn.load(blob)
    g = m.graph
    xs = _inputs(m, test)
    r, got = _run_c(run_model, blob, xs, tmp_path)
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(got, _expected(m, xs))
    # the arena the runtime needs: the plan stored in the blob (firmware_sim's planner, batch 1)
    # plus the kernels' scratch, as export-c computes it for the project's static arena
    from firmware_sim.device import buffer_sizes
    from firmware_sim.export_c import c_runtime_arena_bytes
    from firmware_sim.memory_plan import plan_graph
    required = int(r.stdout.split("arena=")[1].split()[0])
    assert required == c_runtime_arena_bytes(blob.read_bytes())
    assert plan_graph(g, buffer_sizes(g)).arena_bytes <= required
    assert 0 < int(r.stdout.split("high_water=")[1]) <= required
    # per-op name (debug section), type and MACs, as the Python side sees them
    from tinycnn.costs import node_macs
    ops = r.stdout.split("ops=")[1].split("\n")[0].split(",")
    assert ops == [f"{n.name}:{n.op.value}:{node_macs(g, n)}" for n in g.nodes]


def test_corrupt_blob_is_refused_before_running(run_model, tmp_path):
    blob, _ = _blob("digits_example", tmp_path)
    raw = bytearray(blob.read_bytes())
    x = np.zeros((1, 16, 16, 1), np.int8)
    for damage, code, message in ((lambda r: r.__setitem__(300, r[300] ^ 0x40), 3, "checksum"),
                                  (lambda r: r.__delitem__(slice(-5, None)), 3, "size"),
                                  (lambda r: r.__setitem__(slice(4, 6), b"\x02\x00"), 3, "version")):
        bad = bytearray(raw)
        damage(bad)
        (tmp_path / "bad.tcnn").write_bytes(bytes(bad))
        r, _ = _run_c(run_model, tmp_path / "bad.tcnn", [x], tmp_path)
        assert r.returncode == code and message in r.stderr, r.stderr


@pytest.mark.parametrize("name", ["int16x8_leaky", "int16x8_sigmoid_tanh", "int16x8_transpose_conv"])
def test_int16_activations_are_refused_at_init(run_model, tmp_path, name):
    """LEAKY_RELU / SIGMOID / TANH / TRANSPOSE_CONV int16x8 (imported int16x8 TFLite) have no C
    kernel yet: refused before running."""
    blob = tinycnn.convert(TFLITE / f"{name}.tflite", output=tmp_path / "m.tcnn")
    r, _ = _run_c(run_model, blob, [np.zeros((1, 16, 16, 1), np.int16)], tmp_path)
    assert r.returncode == 3 and "an op, dtype or kernel variant this C runtime does not run" in r.stderr, r.stderr


def test_stripped_blob_has_no_op_names_in_c(run_model, tmp_path):
    from tinycnn.blob.writer import strip_blob
    blob, _ = _blob("digits_example", tmp_path)
    strip_blob(blob)
    r, _ = _run_c(run_model, blob, [np.zeros((1, 16, 16, 1), np.int8)], tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("ops=")[1].startswith(":CONV_2D:")


def test_a_lying_record_with_a_valid_crc_is_refused(run_model, tmp_path, monkeypatch):
    """A blob written by our own writer (CRC right) whose conv stride is 0, or whose output shape
    does not follow from its inputs, is refused by tcnn_init: no kernel runs on it."""
    from tinycnn.blob.reader import read_blob
    from tinycnn.blob.writer import graph_to_bytes
    from tinycnn.ir import Op
    blob, _ = _blob("digits_example", tmp_path)
    x = np.zeros((1, 16, 16, 1), np.int8)
    for corrupt in (lambda n, g: n.attrs.__setitem__("stride", [0, 1]),
                    lambda n, g: setattr(g.tensors[n.outputs[0]], "shape", (-1, 3, 3, 16))):
        g = read_blob(blob)
        corrupt(next(n for n in g.nodes if n.op == Op.CONV_2D), g)
        (tmp_path / "bad.tcnn").write_bytes(graph_to_bytes(g))
        r, _ = _run_c(run_model, tmp_path / "bad.tcnn", [x], tmp_path)
        assert r.returncode == 3 and "tcnn_init" in r.stderr, r.stderr


def test_export_c_project_builds_and_runs_on_the_host(tmp_path):
    """`tinycnn export-c BLOB -o DIR` writes a self-contained project; with the host-only
    main.c/Makefile (the boards' own builds are tested with the boards), `make -C DIR TARGET=host`
    builds it and the program prints the same outputs as the Python runtime (zero input)."""
    from firmware_sim.export_c import export_project
    blob, _ = _blob("digits_example", tmp_path)
    proj = export_project(blob, tmp_path / "proj", boards=None)
    assert "extern const uint8_t model_blob[" in (proj / "model_data.h").read_text()
    assert (proj / "tcnn" / "tcnn.h").exists() and (proj / "model_data.c").exists()
    r = subprocess.run(["make", "-C", str(proj), "TARGET=host"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = subprocess.run([str(proj / "build" / "host" / "model")], capture_output=True, text=True, check=True).stdout
    values = [int(v) for v in out.splitlines()[1:-1]]
    m = tinycnn.load(blob)
    x = np.zeros((1,) + tuple(m.graph.tensors[m.graph.inputs[0]].shape[1:]), np.int8)
    assert values == m.run_quantized([x])[0].reshape(-1).tolist()


def test_runtime_compiles_for_cortex_m_without_floating_point(tmp_path):
    """arm-none-eabi-gcc (installed by the Makefile) builds the runtime for Cortex-M0 (no DSP),
    M4 (DSP) and M55 (MVE) with -Wall -Werror, and the objects call no soft-float helper
    (__aeabi_f*/d*): no floating point on any path."""
    gcc = shutil.which("arm-none-eabi-gcc")
    assert gcc, "arm-none-eabi-gcc is part of the test environment (Debian: gcc-arm-none-eabi)"
    sources = [RUNTIME / "tcnn_runtime.c", *sorted((RUNTIME / "kernels").glob("*.c"))]
    for cpu in ("cortex-m0", "cortex-m4", "cortex-m55"):
        objs = []
        for src in sources:
            obj = tmp_path / f"{src.stem}.{cpu}.o"
            subprocess.run([gcc, f"-mcpu={cpu}", "-mthumb", "-O2", "-std=c99", "-Wall", "-Wextra", "-Werror",
                            "-I", str(RUNTIME), "-c", str(src), "-o", str(obj)], check=True)
            objs.append(str(obj))
        syms = subprocess.run([gcc.replace("gcc", "nm"), "-u", *objs], capture_output=True, text=True, check=True).stdout
        floats = [s for s in syms.split() if s.startswith(("__aeabi_f", "__aeabi_d", "__aeabi_i2f", "__aeabi_l2d"))]
        assert not floats, (cpu, floats)


def test_mutated_blobs_never_crash_the_c_runtime(tmp_path):
    """Word-level mutants of the device tables (tensors, ops, records, arrays, index, quant) with
    the CRC recomputed, run by an AddressSanitizer + UBSan build: each is refused by tcnn_init
    (exit 3) or runs cleanly (exit 0); never an out-of-bounds access or undefined behaviour.
    (A longer local campaign: 5,000 mutants of 12 fixture blobs, 0 crashes.)"""
    import random
    import struct
    import zlib
    from tinycnn.blob import format as F
    exe = tmp_path / "run_asan"
    sources = [ROOT / "tests" / "c" / "run_model.c", RUNTIME / "tcnn_runtime.c", *sorted((RUNTIME / "kernels").glob("*.c"))]
    subprocess.run(["gcc", "-std=c99", "-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                    "-I", str(RUNTIME), "-o", str(exe), *map(str, sources)], check=True)
    blobs = [_blob(name, tmp_path)[0].read_bytes() for name in ("digits_example", "bnn", "tflite_misc_ops")]
    rng = random.Random(0)
    (tmp_path / "in.bin").write_bytes(bytes(rng.randrange(256) for _ in range(4096)))
    units = {"tensors": F.TENSOR.size, "ops": F.OP.size, "arrays": F.ARRAY.size, "index": 4}
    outcomes = {0: 0, 3: 0}
    for _ in range(240):
        raw = bytearray(rng.choice(blobs))
        h = F.HEADER.unpack_from(raw)
        sec = rng.choice(["tensors", "ops", "records", "arrays", "index", "quant"])
        i = F.SECTIONS.index(sec)
        off, count = h[6 + 2 * i], h[7 + 2 * i]
        for _ in range(rng.choice([1, 2])):
            pos = off + 4 * rng.randrange(count * units.get(sec, 1) // 4)
            old = struct.unpack_from("<i", raw, pos)[0]
            new = rng.choice([0, -1, 1, old + 1, old - 1, 2 * old, 1 << 30, -(1 << 31), rng.randrange(-999, 999)])
            struct.pack_into("<I", raw, pos, new & 0xFFFFFFFF)
        struct.pack_into("<I", raw, 12, zlib.crc32(raw[F.HEADER_SIZE:]) & 0xFFFFFFFF)
        (tmp_path / "m.tcnn").write_bytes(bytes(raw))
        r = subprocess.run([str(exe), str(tmp_path / "m.tcnn"), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")],
                           capture_output=True, text=True, timeout=60, env={"ASAN_OPTIONS": "detect_leaks=0"})
        assert r.returncode in outcomes, r.stderr[-2000:]
        outcomes[r.returncode] += 1
    assert outcomes[0] > 20 and outcomes[3] > 100, outcomes
