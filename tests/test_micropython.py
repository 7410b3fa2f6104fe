"""The MicroPython runtime (tinycnn_mp.py) run in real MicroPython (the webassembly port from
npm under node; `make test` installs it into .mpy-node): its outputs must equal the Python
runtime's (tinycnn.load(...).run_quantized, itself tested against the NumPy integer reference,
TFLite Micro and tflite-runtime) bit for bit on the bundled example and on fixture models
covering every op family: int8 ONNX / Keras / TFLite, TFLite-Micro softmax, legacy uint8
TFLite, 16x8 (whole and mixed with REQUANTIZE), binary (PyTorch STE BNN, Larq, post-training
--scheme binary). MicroPython is slow (~0.5 M MAC/s here): one or two inputs per model."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest

import tinycnn
from tinycnn.cli import main
from tinycnn.commands.mpy_run import quantized_inputs
from tinycnn.mpy.host import run_blob

from tests.conftest import DATA, ROOT


def _split(npz):
    z = np.load(npz)
    xc = z["x_calib"] if "x_calib" in z else (z["x"] if "x" in z else z["x_test"])
    xt = z["x_test"] if "x_test" in z else xc
    return xc, xt


def _convert(src, npz, out, **kw):
    xc, xt = _split(npz)
    calib = None if str(src).endswith(".tflite") else xc[:64]
    return tinycnn.convert(src, calib=calib, output=out, **kw), xt


def _int16x8(src, npz, out, fraction):
    from tinycnn.blob.writer import write_blob
    from tinycnn.convert import import_model, to_nhwc
    from tinycnn.quant.calibrate import calibrate
    from tinycnn.quant.int8 import QuantConfig, quantize_int8
    from tinycnn.quant.int16x8 import wideable_layers, widen_int16x8
    g = import_model(src)
    xc, xt = _split(npz)
    obs = calibrate(g, [to_nhwc(g, xc[:32])])
    q8 = quantize_int8(g, obs, QuantConfig())
    layers = wideable_layers(q8)
    write_blob(widen_int16x8(q8, g, obs, layers[:max(1, int(len(layers) * fraction))]), out)
    return out, xt


ONNX, KERAS, TFLITE, BNN = DATA / "onnx", DATA / "keras", DATA / "tflite", DATA / "bnn"
MODELS = {
    # name: (builder(out_path) -> (blob, float test inputs), samples, ops the model must contain)
    "onnx_misc_ops": (lambda o: _convert(ONNX / "misc_ops.onnx", ONNX / "misc_ops_data.npz", o), 1,
                      {"PRELU", "MUL", "SUB", "LUT", "MAX_POOL_2D", "AVERAGE_POOL_2D", "MEAN", "SOFTMAX"}),
    "onnx_inception": (lambda o: _convert(ONNX / "inception.onnx", ONNX / "inception_data.npz", o), 1,
                       {"CONCATENATION", "PAD"}),
    "onnx_mobilenet_v3": (lambda o: _convert(ONNX / "mobilenet_v3.onnx", ONNX / "mobilenet_v3_data.npz", o), 1,
                          {"DEPTHWISE_CONV_2D", "ADD", "MUL"}),
    "keras_vgg": (lambda o: _convert(KERAS / "vgg.keras", KERAS / "vgg_data.npz", o), 1, {"DEPTHWISE_CONV_2D"}),
    "tflite_misc_ops": (lambda o: _convert(TFLITE / "misc_ops.tflite", TFLITE / "misc_ops_data.npz", o), 1,
                        {"TRANSPOSE", "PAD", "RESIZE_NEAREST", "SOFTMAX/tflm"}),
    "tflite_ds_cnn_kws": (lambda o: _convert(TFLITE / "ds_cnn_kws.tflite", TFLITE / "ds_cnn_kws_data.npz", o), 1,
                          {"AVERAGE_POOL_2D", "DEPTHWISE_CONV_2D"}),
    "tflite_legacy_uint8": (lambda o: _convert(TFLITE / "legacy_uint8.tflite", TFLITE / "legacy_uint8_data.npz", o),
                            2, {"CONV_2D/uint8", "FULLY_CONNECTED/uint8", "SOFTMAX/tflm"}),
    "tflite_legacy_uint8_mbnet": (lambda o: _convert(TFLITE / "uint8" / "legacy_uint8_mbnet.tflite",
                                                     TFLITE / "uint8" / "legacy_uint8_mbnet_data.npz", o), 2,
                                  {"DEPTHWISE_CONV_2D/uint8", "AVERAGE_POOL_2D/uint8", "ADD", "MAX_POOL_2D"}),
    "tflite_int16x8_conv1d": (lambda o: _convert(TFLITE / "int16x8_conv1d.tflite", TFLITE / "int16x8_conv1d_data.npz", o),
                              1, {"CONV_2D/int16x8", "CONCATENATION/int16x8", "PAD", "FULLY_CONNECTED/int16x8"}),
    "int16x8_mobilenet_v1": (lambda o: _int16x8(ONNX / "mobilenet_v1.onnx", ONNX / "mobilenet_v1_data.npz", o, 1.0),
                             1, {"CONV_2D/int16x8", "DEPTHWISE_CONV_2D/int16x8", "MEAN/int16x8"}),
    "int16x8_mixed_misc_ops": (lambda o: _int16x8(ONNX / "misc_ops.onnx", ONNX / "misc_ops_data.npz", o, 0.5), 1,
                               {"CONV_2D/int16x8", "REQUANTIZE/int16x8", "CONV_2D"}),
    "bnn_ste": (lambda o: _convert(BNN / "bnn_digits.onnx", BNN / "bnn_digits_data.npz", o), 1,
                {"BINARY_CONV_2D", "BINARY_MAX_POOL_2D", "BINARY_FULLY_CONNECTED"}),
    "bnn_larq": (lambda o: _convert(BNN / "larq_digits.h5", BNN / "larq_digits_data.npz", o), 1,
                 {"BINARY_CONV_2D", "BINARY_FULLY_CONNECTED"}),
    "digits_scheme_binary": (lambda o: _convert(ROOT / "examples" / "digits_cnn.onnx",
                                                ROOT / "examples" / "digits_calib.npz", o, scheme="binary"), 1,
                             {"BINARIZE"}),
}


def _ops(model):
    return {n.op.value + (f"/{n.attrs['kernel_variant']}" if n.attrs.get("kernel_variant") else "")
            for n in model.graph.nodes}


def _assert_bit_exact(blob, x_float, samples):
    model = tinycnn.load(blob)
    xq = quantized_inputs(model, x_float[:samples])
    want = model.run_quantized([xq])
    got, stats = run_blob(blob, [xq])
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)
    return model, stats


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fixture_model_bit_exact_in_micropython(name, tmp_path):
    build, samples, must_have = MODELS[name]
    blob, x = build(tmp_path / f"{name}.tcnn")
    model, _ = _assert_bit_exact(blob, x, samples)
    assert must_have <= _ops(model), f"{name} no longer covers {must_have - _ops(model)}"


@pytest.fixture(scope="module")
def digits_blob(tmp_path_factory):
    out = tmp_path_factory.mktemp("mp") / "digits.tcnn"
    return tinycnn.convert(ROOT / "examples" / "digits_cnn.onnx",
                           calib=np.load(ROOT / "examples" / "digits_calib.npz")["x"], output=out)


def test_bundled_example_cli_export_and_mpy_run(digits_blob, tmp_path, capsys):
    x = np.load(ROOT / "examples" / "digits_test.npz")["x"][:3]
    np.save(tmp_path / "x.npy", x)
    assert main(["export-micropython", str(digits_blob), "-o", str(tmp_path / "board")]) == 0
    assert (tmp_path / "board" / "tinycnn_mp.py").exists() and (tmp_path / "board" / "digits.tcnn").exists()
    assert main(["mpy-run", str(digits_blob), "--input", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy")]) == 0
    assert "M MAC/s" in capsys.readouterr().out
    model = tinycnn.load(digits_blob)
    want = model.run_quantized([model.quantize_input(model._to_nhwc(x, 0))])[0]
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), want)


def test_bundled_example_heap_fits_64k_plus_blob(digits_blob):
    """Live heap of the imported .mpy module + the loaded model (blob, tables, arena) plus every
    byte an inference allocates: at most the blob plus 64 KiB. This port never collects inside
    a call (and grows its heap instead of honouring -X heapsize), so the bytes allocated during
    run() are all counted: the bound holds even with no collection during an inference (the
    requantization makes no big integers). Running keeps nothing alive."""
    model = tinycnn.load(digits_blob)
    xq = quantized_inputs(model, np.load(ROOT / "examples" / "digits_test.npz")["x"][:2])
    got, stats = run_blob(digits_blob, [xq], heap_bytes=64 << 10, use_mpy=True)
    np.testing.assert_array_equal(got[0], model.run_quantized([xq])[0])
    blob_bytes = digits_blob.stat().st_size
    assert stats["module_bytes"] + stats["loaded_bytes"] + stats["alloc_per_run_bytes"] <= blob_bytes + (64 << 10)
    assert stats["alloc_per_run_bytes"] < 8192  # was 3.5 MB of big-integer temporaries per inference
    assert stats["live_after_run_bytes"] - stats["loaded_bytes"] < 2048  # the input arrays, file objects
    # the arena holds the largest pair of live activations, not the sum of all of them
    activations = sum(int(np.prod([1 if d < 0 else d for d in t.shape])) for t in model.graph.tensors.values()
                      if not t.is_const)
    assert stats["arena_bytes"] < activations


def _mp_script(tmp_path, blob_bytes, code):
    """Run `code` in MicroPython with tinycnn_mp importable and the blob at /mpy/model.tcnn."""
    from tinycnn.mpy import module_source
    from tinycnn.mpy.host import DRIVER, micropython_mjs
    (tmp_path / "in").mkdir(parents=True)
    (tmp_path / "in" / "tinycnn_mp.py").write_text(module_source())
    (tmp_path / "in" / "model.tcnn").write_bytes(blob_bytes)
    (tmp_path / "main.py").write_text('import sys\nsys.path.insert(0, "/mpy")\nimport tinycnn_mp\n'
                                      + code + "\n_more = False\n#---STEP---\n#---STEP---\n")
    r = subprocess.run(["node", str(DRIVER), str(micropython_mjs()), str(8 << 20), str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    return r.stdout + r.stderr


@pytest.mark.parametrize("corrupt, message", [
    (lambda b: b[:200], "truncated or padded"),
    (lambda b: b[:-1] + bytes([b[-1] ^ 1]), "checksum mismatch"),
    (lambda b: b[:4] + bytes([2, 0]) + b[6:], "version 2 is not supported"),
    (lambda b: b"XXXX" + b[4:], "not a tinycnn blob"),
])
def test_board_refuses_corrupt_blob(digits_blob, tmp_path, corrupt, message):
    out = _mp_script(tmp_path, corrupt(digits_blob.read_bytes()), """
try:
    tinycnn_mp.load("/mpy/model.tcnn")
    print("LOADED")
except tinycnn_mp.BlobError as e:
    print("REFUSED", e)""")
    assert "REFUSED" in out and message in out, out


def test_board_checks_input_size(digits_blob, tmp_path):
    out = _mp_script(tmp_path, digits_blob.read_bytes(), """
import array
m = tinycnn_mp.load("/mpy/model.tcnn")
try:
    m.run(array.array("b", [0] * 10))
except ValueError as e:
    print("REFUSED", e)
y = m.run(bytearray(256))
print("OK", len(y), m.arena_bytes > 0)""")
    assert "REFUSED input #0 (int8 [1, 16, 16, 1], NHWC) needs 256 values" in out and "OK 10 True" in out, out


def test_interpreter_under_test_lacks_native_emitters(tmp_path, digits_blob):
    """The webassembly port has no @micropython.native / viper emitters, so the portable
    kernels are the ones verified here (the exported module uses no emitter decorators)."""
    out = _mp_script(tmp_path, digits_blob.read_bytes(), """
try:
    exec("@micropython.native\\ndef f():\\n    return 1\\n")
    print("NATIVE")
except SyntaxError:
    print("NO NATIVE")""")
    assert "NO NATIVE" in out, out


@pytest.mark.parametrize("march", ["armv6m", "xtensawin", "armv7em", "armv7emsp"])
def test_native_kernels_compile_for_boards(digits_blob, tmp_path, march):
    """--native adds only @micropython.native decorators to the portable kernels (the ones
    verified above) and mpy-cross's native emitter accepts every one for RP2040 / ESP32 /
    Cortex-M4-M7 with the DSP (SIMD) extension (armv7em; armv7emsp with the FPU: STM32F4).
    Compiled only: no MicroPython here executes native code."""
    from tinycnn.mpy import NATIVE_KERNELS, module_source
    native, portable = module_source(native=True).splitlines(), module_source().splitlines()
    assert [ln for ln in native if ln not in ("@micropython.native", "import micropython")] == portable
    assert native.count("@micropython.native") == len(NATIVE_KERNELS)
    assert main(["export-micropython", str(digits_blob), "-o", str(tmp_path), "--mpy", "--native",
                 "--march", march]) == 0
    mpy = (tmp_path / "tinycnn_mp.mpy").read_bytes()
    assert mpy[:1] == b"M" and len(mpy) > 10000


@pytest.mark.parametrize("name,op", [("int16x8_leaky", "LEAKY_RELU"), ("int16x8_sigmoid_tanh", "TANH"),
                                     ("int16x8_transpose_conv", "TRANSPOSE_CONV")])
def test_board_refuses_int16_activations(tmp_path, name, op):
    """LEAKY_RELU / SIGMOID / TANH int16x8 (imported int16x8 TFLite) have no MicroPython kernel yet:
    refused at load."""
    blob = tinycnn.convert(TFLITE / f"{name}.tflite", output=tmp_path / "m.tcnn")
    out = _mp_script(tmp_path / "a", blob.read_bytes(), """
try:
    tinycnn_mp.load("/mpy/model.tcnn")
except tinycnn_mp.BlobError as e:
    print("REFUSED", e)""")
    assert "REFUSED" in out and f"({op}): not supported by tinycnn_mp" in out, out


def test_board_refuses_float_blob_and_inconsistent_shapes(tmp_path, onnx_dir):
    """A float32 blob is refused at load with a message; so is a blob whose (CRC-valid) conv
    record says a stride its declared output shape does not follow from."""
    import struct

    from tinycnn.blob import format as F
    src, shape = onnx_dir[sorted(onnx_dir)[0]]
    float_blob = tinycnn.convert(src, scheme="float32", output=tmp_path / "f.tcnn")
    out = _mp_script(tmp_path / "a", float_blob.read_bytes(), """
try:
    tinycnn_mp.load("/mpy/model.tcnn")
except tinycnn_mp.BlobError as e:
    print("REFUSED", e)""")
    assert "REFUSED" in out and "float32" in out and "--scheme int8" in out, out

    blob = bytearray(tinycnn.convert(ROOT / "examples" / "digits_cnn.onnx",
                                     calib=np.load(ROOT / "examples" / "digits_calib.npz")["x"][:32],
                                     output=tmp_path / "d.tcnn").read_bytes())
    h = F.HEADER.unpack_from(blob)
    ops_off, rec_off = h[6 + 2], h[6 + 4]
    code, _, _, _, _, _, f_off, _, _, _ = F.OP.unpack_from(blob, ops_off)
    assert F.OP_CODES[code] == "CONV_2D"
    stride_word = dict((n, p) for n, _, p in F.field_layout("CONV_2D"))["stride"]
    struct.pack_into("<i", blob, rec_off + f_off + 4 * stride_word, 2)  # first conv: stride 2, output unchanged
    import zlib
    struct.pack_into("<I", blob, 12, zlib.crc32(bytes(blob[F.HEADER_SIZE:])) & 0xFFFFFFFF)
    out = _mp_script(tmp_path / "b", bytes(blob), """
try:
    tinycnn_mp.load("/mpy/model.tcnn")
except tinycnn_mp.BlobError as e:
    print("REFUSED", e)""")
    assert "REFUSED" in out and "output shape" in out, out


def test_uint8_input_model_bit_exact(digits_blob, tmp_path):
    """A uint8 graph input (array('B') on the board) feeding the int8 model through a
    REQUANTIZE (zero point shifted by 128, multiplier 1): a model with two activation dtypes,
    so one arena per dtype. Equal to the Python runtime, and to the int8 model on x - 128."""
    from tinycnn.blob.reader import read_blob
    from tinycnn.blob.writer import write_blob
    from tinycnn.ir import Node, Op, QuantParams, Tensor
    g = read_blob(digits_blob)
    t = g.tensors[g.inputs[0]]
    zp = int(t.quant.zero_point[0])
    g.tensors["input_u8"] = Tensor("input_u8", t.shape, "uint8", None,
                                   QuantParams(t.quant.scale.copy(), np.array([zp + 128], np.int32)))
    g.nodes.insert(0, Node("to_int8", Op.REQUANTIZE, ["input_u8"], [t.name],
                           {"input_offset": -(zp + 128), "output_offset": zp, "output_multiplier": 1 << 30,
                            "output_shift": 1, "kernel_variant": "int16x8", "output_dtype": "int8"}))
    g.inputs = ["input_u8"]
    write_blob(g, tmp_path / "u8.tcnn")
    x = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 1)).astype(np.uint8)
    want = tinycnn.load(tmp_path / "u8.tcnn").run_quantized([x])[0]
    np.testing.assert_array_equal(want, tinycnn.load(digits_blob).run_quantized([(x.astype(np.int16) - 128).astype(np.int8)])[0])
    got, _ = run_blob(tmp_path / "u8.tcnn", [x])
    np.testing.assert_array_equal(got[0], want)
