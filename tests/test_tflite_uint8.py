"""Legacy uint8 TFLite models (TF1 / Coral post-training quantization: asymmetric uint8 weights
with a non-zero zero point, uint8 activations), kernel variant "uint8": bit-exact with
tflite-runtime's reference kernels (and LiteRT's BUILTIN_REF) through the blob, on the two
uint8 fixtures (legacy_uint8: CONV_2D, FC, SOFTMAX; legacy_uint8_mbnet: depthwise, 1x1 conv,
residual ADD, MAX_POOL, uint8 QUANTIZE, even-window AVERAGE_POOL_2D) and on single-op pools of
four geometries, with 300 image-like inputs each (smooth gradients, flat regions, edges:
ties of even pool windows are common there). Weights stay 1 byte each (int8 + offset)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.tflite_builders import ModelWriter, options
from tinycnn.blob.writer import write_blob
from tinycnn.convert import convert
from tinycnn.errors import BlobError
from tinycnn.oracles import tflite_ref
from tinycnn.reference.int_ops import run_int
from tinycnn.runtime import Model, load

DATA = Path(__file__).parent / "data" / "tflite"
FIXTURES = {"legacy_uint8": DATA / "legacy_uint8.tflite",  # made by make_tflite_fixtures.py
            "legacy_uint8_mbnet": DATA / "uint8" / "legacy_uint8_mbnet.tflite"}  # uint8/make_legacy_uint8_mbnet.py


def image_like_u8(n, hw, seed):
    """n uint8 images [n, hw, hw, 1]: gradients, step edges, flat patches, a little noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:hw, 0:hw]
    imgs = []
    for i in range(n):
        g = 32.0 / hw
        base = rng.integers(0, 256) + rng.uniform(-g, g) * 8 * yy + rng.uniform(-g, g) * 8 * xx
        if i % 3 == 0:
            base = np.where(xx > rng.integers(1, hw - 1), base, rng.integers(0, 256))
        imgs.append(np.clip(np.round(base + rng.normal(0, 3 if i % 2 else 0.5, (hw, hw))), 0, 255))
    return np.asarray(imgs, np.uint8)[..., None]


def fixture_inputs(name, n_synthetic=200):
    """The fixture's 100 digits as uint8 with noise, plus synthetic image-like inputs."""
    x = np.load(FIXTURES[name].with_name(f"{name}_data.npz"))["x_test"]
    rng = np.random.default_rng(3)
    digits = np.clip(np.round(x * 255 + rng.normal(0, 8, x.shape)), 0, 255).astype(np.uint8)
    return np.concatenate([digits, image_like_u8(n_synthetic, x.shape[1], 5)])


def litert_ref(path, xu):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    it = Interpreter(model_path=str(path), num_threads=1,
                     experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    ind, outd = it.get_input_details()[0], it.get_output_details()[0]
    out = []
    for k in range(len(xu)):
        it.set_tensor(ind["index"], xu[k:k + 1])
        it.invoke()
        out.append(it.get_tensor(outd["index"])[0].copy())
    return np.asarray(out)


@pytest.mark.parametrize("name", list(FIXTURES))
def test_legacy_uint8_blob_bit_exact_with_reference_kernels(tmp_path, name):
    assert tflite_ref.available(), f"tflite-runtime side venv missing: {tflite_ref.INSTALL_HINT}"
    path = FIXTURES[name]
    m = load(convert(path, output=tmp_path / "u8.tcnn"))  # through the blob, as a user runs it
    xu = fixture_inputs(name)
    ref = tflite_ref.run(path, xu)[0]
    assert ref.dtype == np.uint8
    ours = np.asarray(m.run(xu))  # native uint8 in, uint8 out
    assert ours.dtype == np.uint8
    np.testing.assert_array_equal(ours.reshape(ref.shape), ref)
    np.testing.assert_array_equal(litert_ref(path, xu).reshape(ref.shape), ref)  # two oracles agree
    xq = (xu.astype(np.int16) - 128).astype(np.int8)  # and the NumPy reference agrees with the kernels
    np.testing.assert_array_equal(run_int(m.graph, [xq])[0].astype(np.int16) + 128, ours.reshape(-1, ref.shape[-1]))


@pytest.mark.parametrize("name", list(FIXTURES))
def test_legacy_uint8_weights_stay_one_byte(tmp_path, name):
    g = load(convert(FIXTURES[name], output=tmp_path / "u8.tcnn")).graph
    weighted = [n for n in g.nodes if n.op.value in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")]
    assert weighted and all(n.attrs["kernel_variant"] == "uint8" for n in weighted)
    assert any(n.attrs["weight_offset"] != 0 for n in weighted)  # non-zero weight zero points
    for n in weighted:
        w = g.tensors[n.inputs[1]]
        assert w.dtype == "int8" and w.data.nbytes == w.data.size
    pools = [n for n in g.nodes if n.op.value == "AVERAGE_POOL_2D"]
    assert all(n.attrs["kernel_variant"] == "uint8" for n in pools)


def _uint8_avgpool_file(tmp_path, k, stride, padding):
    w = ModelWriter()
    x = w.tensor([1, 8, 8, 3], np.uint8, 0.02, 128)
    out_hw = (8 + stride - 1) // stride if padding == 0 else (8 - k) // stride + 1  # 0 SAME, 1 VALID
    out = w.tensor([1, out_hw, out_hw, 3], np.uint8, 0.02, 128)
    w.op("AVERAGE_POOL_2D", [x], [out], options("Pool2DOptions", padding=padding, strideW=stride,
                                                 strideH=stride, filterWidth=k, filterHeight=k))
    w.inputs, w.outputs = [x], [out]
    p = tmp_path / f"avg_u8_{k}_{stride}_{padding}.tflite"
    p.write_bytes(w.to_bytes())
    return p


@pytest.mark.parametrize("k,stride,padding", [(2, 2, 1), (4, 4, 1), (2, 1, 0), (3, 2, 0)])
def test_legacy_uint8_average_pool_bit_exact(tmp_path, k, stride, padding):
    p = _uint8_avgpool_file(tmp_path, k, stride, padding)
    m = load(convert(p, output=tmp_path / "a.tcnn"))
    xu = np.concatenate([image_like_u8(300, 8, k * 10 + stride + c) for c in range(3)], axis=3)
    ref = tflite_ref.run(p, xu)[0]
    ours = np.asarray(m.run(xu))
    np.testing.assert_array_equal(ours.reshape(ref.shape), ref)
    xq = (xu.astype(np.int16) - 128).astype(np.int8)
    np.testing.assert_array_equal(run_int(m.graph, [xq])[0].astype(np.int16) + 128, ours)


def test_weight_offset_out_of_range_is_refused_at_load(tmp_path):
    g = load(convert(DATA / "legacy_uint8.tflite", output=tmp_path / "u8.tcnn")).graph
    node = next(n for n in g.nodes if n.op.value == "CONV_2D")
    node.attrs["weight_offset"] = 200  # 128 - zero point is at most 128
    write_blob(g, tmp_path / "bad.tcnn")
    with pytest.raises(BlobError, match="weight_offset"):
        load(tmp_path / "bad.tcnn")
