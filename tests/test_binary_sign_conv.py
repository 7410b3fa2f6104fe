"""The sign-producing first conv of a BNN (CONV_2D with attrs output_mode "packed"): int16
per-channel weights, int64 bias and accumulator, int16 (or int8) input. The Numba kernel
against the NumPy integer reference and an independent float64 convolution (exact here), and
the converted BNN fixture's first layer against ONNX Runtime's sign(BatchNorm(Conv(x)))."""
from __future__ import annotations

import functools

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

import tinycnn
import tinycnn.quant.binarize as binarize_mod
from tinycnn.bitpack import pack_bits, unpack_signs, words_for
from tinycnn.convert import convert
from tinycnn.ir import Graph, Node, Op
from tinycnn.kernels.registry import bind
from tinycnn.reference import binary_int
from tinycnn.report import describe, format_info

from tests.conftest import DATA

BNN = DATA / "bnn" / "bnn_digits.onnx"

CASES = [  # (n, h, w, cin, cout, kh, kw, stride, pad, dilation, x dtype, w dtype, bias dtype)
    (2, 9, 9, 1, 32, 3, 3, [1, 1], [1, 1, 1, 1], [1, 1], np.int16, np.int16, np.int64),
    (1, 8, 11, 3, 40, 3, 3, [2, 2], [1, 1, 1, 1], [1, 1], np.int16, np.int16, np.int64),
    (2, 7, 6, 5, 33, 5, 3, [1, 2], [2, 1, 2, 1], [1, 1], np.int8, np.int16, np.int64),
    (1, 10, 10, 2, 7, 3, 3, [1, 1], [2, 2, 2, 2], [2, 2], np.int16, np.int16, np.int64),
    (2, 6, 6, 4, 65, 1, 1, [1, 1], [0, 0, 0, 0], [1, 1], np.int16, np.int8, np.int64),
    (1, 9, 7, 3, 16, 3, 3, [1, 1], [0, 1, 1, 0], [1, 1], np.int8, np.int8, np.int32),
    (1, 5, 5, 64, 12, 3, 3, [1, 1], [1, 1, 1, 1], [1, 1], np.int16, np.int16, np.int64),  # > 2^31
]


def _node(case, in_off):
    _, _, _, _, _, _, _, stride, pad, dil, *_ = case
    attrs = {"stride": stride, "pad": pad, "dilation": dil, "groups": 1,
             "input_offset": int(in_off), "output_mode": "packed"}
    return Node("c", Op.CONV_2D, ["x", "w", "b"], ["y"], attrs)


def _conv_f64(x, w, stride, pad, dil):
    """Independent oracle: float64 convolution summed tap by tap over explicitly padded input
    (every partial sum is an integer below 2^53, so it is exact)."""
    n, h, wd, _ = x.shape
    cout, kh, kw, _ = w.shape
    (sh, sw), (dh, dw), (pt, pl, pb, pr) = stride, dil, pad
    xp = np.zeros((n, h + pt + pb, wd + pl + pr, x.shape[3]))
    xp[:, pt:pt + h, pl:pl + wd] = x
    oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    acc = np.zeros((n, oh, ow, cout))
    for ky in range(kh):
        for kx in range(kw):
            tap = xp[:, ky * dh:ky * dh + sh * (oh - 1) + 1:sh, kx * dw:kx * dw + sw * (ow - 1) + 1:sw]
            acc += tap @ w[:, ky, kx, :].astype(np.float64).T
    return acc


def _run_kernel(node, ins, out_shape):
    out = np.zeros(out_shape, np.uint32)
    bind(Graph(), node, ins, out, lambda count, dtype, **_: np.zeros(count, dtype))()
    return out


def _full_range(rng, shape, dtype):
    info = np.iinfo(dtype)
    v = rng.integers(info.min, info.max + 1, shape).astype(dtype)
    v.flat[::7] = info.min  # the extremes, where an int32 accumulator would overflow
    v.flat[3::7] = info.max
    return v


@pytest.mark.parametrize("case", CASES, ids=[f"c{i}" for i in range(len(CASES))])
def test_sign_conv_kernel_equals_integer_reference(case):
    n, h, w_, cin, cout, kh, kw, stride, pad, dil, xdt, wdt, bdt = case
    rng = np.random.default_rng(len(CASES) + cin * cout)
    x = _full_range(rng, (n, h, w_, cin), xdt)
    w = _full_range(rng, (cout, kh, kw, cin), wdt)
    in_off = 0 if xdt == np.int16 else int(rng.integers(-128, 128))
    node = _node(case, in_off)
    # independent oracle: float64 convolution of the offset input (exact: |acc| < 2^53)
    acc = _conv_f64(x.astype(np.float64) + in_off, w, stride, pad, dil)
    assert np.all(np.abs(acc) < 2.0**52) and np.array_equal(acc, np.round(acc))
    b = rng.integers(-2**20, 2**20, cout).astype(bdt)
    # ties: for a few channels the bias cancels the accumulator of one pixel exactly (acc == 0)
    ties = [(0, 0, 0, 0), (n - 1, acc.shape[1] - 1, acc.shape[2] - 1, cout - 1),
            (0, acc.shape[1] // 2, 0, cout // 2)]
    for (i, y, xx, oc) in ties:
        if abs(acc[i, y, xx, oc]) < np.iinfo(bdt).max:
            b[oc] = -int(acc[i, y, xx, oc])
    total = acc + b.astype(np.float64)
    expect = pack_bits(total < 0)  # sign(0) = +1 (bit 0)
    ref = binary_int.conv_2d_maybe_packed(node, x, w, b)
    np.testing.assert_array_equal(ref, expect)
    got = _run_kernel(node, [x, w, b], (n,) + acc.shape[1:3] + (words_for(cout),))
    np.testing.assert_array_equal(got, expect)
    assert np.any(total == 0) and np.any(total < 0) and np.any(total > 0)
    if cin == 64:
        assert np.abs(acc).max() > 2.0**31  # this case needs the 64-bit accumulator


# ---------------- quantizer + the BNN fixture against ONNX Runtime ----------------

def _ort_first_signs(model: onnx.ModelProto, x):
    """ONNX Runtime's BatchNormalization output of the first layer (the tensor the first
    Sign reads), NCHW."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    bn0 = next(n for n in model.graph.node if n.op_type == "BatchNormalization")
    model.graph.output.append(helper.make_tensor_value_info(bn0.output[0], onnx.TensorProto.FLOAT, None))
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        [bn0.output[0]], {"input": x})[0]


def _first_layer_negative(model, x_nchw):
    """The converted model's first-layer bits (True = -1) as NCHW."""
    plan = model.plan(len(x_nchw))
    np.copyto(plan.buffers[model.graph.inputs[0]], model.quantize_input(x_nchw.transpose(0, 2, 3, 1)))
    plan.calls[0]()
    first = model.graph.nodes[0]
    assert first.op == Op.CONV_2D and first.attrs["output_mode"] == "packed"
    cout = model.graph.tensors[first.inputs[1]].shape[0]
    return unpack_signs(plan.buffers[first.outputs[0]], cout, np.int32).transpose(0, 3, 1, 2) < 0


_QUANTIZE_BINARY = binarize_mod.quantize_binary


def _convert(path, calib, out, sign_conv_input, monkeypatch):
    """convert() with quantize_binary(..., sign_conv_input=...) (convert imports it at call time)."""
    monkeypatch.setattr(binarize_mod, "quantize_binary",
                        functools.partial(_QUANTIZE_BINARY, sign_conv_input=sign_conv_input))
    return tinycnn.load(convert(path, calib=calib, output=out))


@pytest.fixture(scope="module")
def data():
    return np.load(DATA / "bnn" / "bnn_digits_data.npz")


def test_bnn_first_layer_is_int16_and_shown_by_info(data, tmp_path):
    blob = convert(BNN, calib=data["x_calib"], output=tmp_path / "bnn.tcnn")
    g = tinycnn.load(blob).graph
    first = g.nodes[0]
    x, w, b = (g.tensors[i] for i in first.inputs)
    assert (x.dtype, w.dtype, b.dtype) == ("int16", "int16", "int64")
    assert x.quant.zero_point[0] == 0 and w.quant.per_channel
    assert np.abs(w.data).max() == 32767
    rows = describe(g, blob)["rows"]
    assert rows[0]["weights"] == "int16/ch"
    assert "int16/ch" in format_info(describe(g, blob))


@pytest.mark.parametrize("mode, max_flips", [("int16", 60), ("int8", 2500)])
def test_bnn_first_layer_signs_vs_onnxruntime(data, tmp_path, monkeypatch, mode, max_flips):
    """Signs entering the first binary layer vs ORT's float32 sign(BN(conv(x))) on the test
    split (4.07M values). int16 input + int16 weights: measured 30 flips (all |BN out| below
    the int16 quantization error); int8 input (scale 1/255, data on a 1/16 grid): 1708."""
    x = data["x_test"]
    model = _convert(BNN, data["x_calib"], tmp_path / f"bnn_{mode}.tcnn", mode, monkeypatch)
    assert model.graph.tensors[model.graph.inputs[0]].dtype == mode
    bn = _ort_first_signs(onnx.load(str(BNN)), x)
    flips = int(np.sum(_first_layer_negative(model, x) != (bn < 0)))
    assert flips <= max_flips, flips
    if mode == "int16":  # every flipped value is within the quantization error of 0
        assert np.abs(bn[_first_layer_negative(model, x) != (bn < 0)]).max() < 1e-3


def test_negative_bn_scale_flips_first_layer_signs(data, tmp_path):
    """A copy of the fixture with half of bn0's gammas (and betas) negated: the folded conv's
    int16 weights and int64 bias carry the flip, the bits still follow ORT's signs."""
    model = onnx.load(str(BNN))
    inits = {i.name: i for i in model.graph.initializer}
    for name in ("bn0.weight", "bn0.bias"):
        v = numpy_helper.to_array(inits[name]).copy()
        v[::2] = -v[::2]
        inits[name].CopyFrom(numpy_helper.from_array(v, name))
    path = tmp_path / "bnn_neg.onnx"
    onnx.save(model, str(path))
    x = data["x_test"][:128]
    m = tinycnn.load(convert(path, calib=data["x_calib"], output=tmp_path / "neg.tcnn"))
    bn = _ort_first_signs(model, x)
    neg = _first_layer_negative(m, x)
    assert np.mean(bn[:, ::2] < 0) > 0.2  # the flipped channels are not trivially one-signed
    assert int(np.sum(neg != (bn < 0))) <= 20
