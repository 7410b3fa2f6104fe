"""Segmentation / detection ops in int8 TFLite models written directly (tests/tflite_builders.py),
TFLite Micro as the oracle (bit-exact): RESIZE_BILINEAR (align_corners / half_pixel_centers,
up and down), TRANSPOSE_CONV (SAME / VALID, strides, per-channel multipliers, fused ReLU),
ARG_MAX / ARG_MIN, DEPTH_TO_SPACE, SPACE_TO_DEPTH, STRIDED_SLICE (masks, negative strides,
shrink axis), dilated DEPTHWISE_CONV_2D. The blob round trip and the NumPy integer reference
are checked on the same models."""
from __future__ import annotations

import numpy as np
import pytest

import tinycnn
from converters.tflite import load_tflite
from tests.tflite_builders import ModelWriter, options, single_op
from tinycnn.blob.writer import write_blob
from tinycnn.oracles import tflm
from tinycnn.reference.int_ops import run_int
from tinycnn.runtime import Model

ZPS = (-128, 127, 0, 5)


def _inputs(rng, shape, n=6):
    x = rng.integers(-128, 128, size=(n,) + tuple(shape[1:])).astype(np.int8)
    x[0], x[1] = -128, 127
    return x


def _check(path, x, tmp_path):
    g = load_tflite(path)
    ref = tflm.run(path, [x])[0]
    ours = Model(g).run_quantized([x])[0]
    np.testing.assert_array_equal(ours.reshape(ref.shape), ref.astype(ours.dtype), err_msg=str(path))
    np.testing.assert_array_equal(run_int(g, [x])[0].reshape(ref.shape), ref.astype(ours.dtype))
    blob = tinycnn.load(write_blob(g, tmp_path / "m.tcnn"))
    np.testing.assert_array_equal(blob.run_quantized([x])[0].reshape(ref.shape), ref.astype(ours.dtype))


@pytest.mark.parametrize("align,half", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("seed", range(4))
def test_resize_bilinear(tmp_path, align, half, seed):
    rng = np.random.default_rng(seed)
    h, w, c = int(rng.integers(2, 7)), int(rng.integers(2, 7)), int(rng.integers(1, 4))
    oh, ow = int(rng.integers(1, 15)), int(rng.integers(1, 15))
    if seed == 0:
        oh, ow = 2 * h, 2 * w
    q = (float(rng.uniform(0.01, 0.1)), ZPS[seed])
    path = single_op(tmp_path, "rb", "RESIZE_BILINEAR", [((1, h, w, c),) + q], ((1, oh, ow, c),) + q,
                     options("ResizeBilinearOptions", alignCorners=align, halfPixelCenters=half),
                     consts=[((2,), np.int32, [oh, ow], None, None, 0)])
    _check(path, _inputs(rng, (1, h, w, c), 8), tmp_path)


def _transpose_conv_model(tmp_path, rng, seed):
    h, w, cin = int(rng.integers(1, 6)), int(rng.integers(1, 6)), int(rng.integers(1, 5))
    cout, kh, kw = int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 5))
    sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    same = seed % 2 == 0
    oh = h * sh if same else (h - 1) * sh + kh
    ow = w * sw if same else (w - 1) * sw + kw
    in_s, out_s = float(rng.uniform(0.01, 0.1)), float(rng.uniform(0.01, 0.2))
    w_s = rng.uniform(0.2, 3.0, size=cout) * out_s / in_s / (kh * kw * cin)
    m = ModelWriter()
    shape_t = m.tensor((4,), np.int32, data=np.array([1, oh, ow, cout], np.int32))
    w_t = m.tensor((cout, kh, kw, cin), np.int8, w_s, [0] * cout,
                   data=rng.integers(-127, 128, size=(cout, kh, kw, cin)), qdim=0)
    x_t = m.tensor((1, h, w, cin), np.int8, in_s, ZPS[seed % 4])
    b_t = m.tensor((cout,), np.int32, in_s * w_s, [0] * cout, data=rng.integers(-3000, 3000, size=cout))
    out = m.tensor((1, oh, ow, cout), np.int8, out_s, ZPS[(seed + 1) % 4])
    opts = options("TransposeConvOptions", padding=0 if same else 1, strideH=sh, strideW=sw,
                   fusedActivationFunction=int(seed % 3 == 0))
    m.op("TRANSPOSE_CONV", [shape_t, w_t, x_t, b_t], [out], opts, version=4 if seed % 3 == 0 else 3)
    m.inputs, m.outputs = [x_t], [out]
    path = tmp_path / "tc.tflite"
    path.write_bytes(m.to_bytes())
    return path, (1, h, w, cin)


@pytest.mark.parametrize("seed", range(8))
def test_transpose_conv(tmp_path, seed):
    rng = np.random.default_rng(100 + seed)
    path, shape = _transpose_conv_model(tmp_path, rng, seed)
    _check(path, _inputs(rng, shape), tmp_path)


@pytest.mark.parametrize("op", ["ARG_MAX", "ARG_MIN"])
@pytest.mark.parametrize("axis", [1, 2, 3, -1])
def test_arg_max_min(tmp_path, op, axis):
    rng = np.random.default_rng(200 + axis)
    shape = (1, 3, 4, 5)
    out_shape = tuple(d for i, d in enumerate(shape) if i != axis % 4)
    m = ModelWriter()
    x_t = m.tensor(shape, np.int8, 0.05, 3)
    a_t = m.tensor((1,), np.int32, data=np.array([axis], np.int32))
    out = m.tensor(out_shape, np.int32)
    cls = "ArgMaxOptions" if op == "ARG_MAX" else "ArgMinOptions"
    m.op(op, [x_t, a_t], [out], options(cls, outputType=2))
    m.inputs, m.outputs = [x_t], [out]
    path = tmp_path / "arg.tflite"
    path.write_bytes(m.to_bytes())
    x = rng.integers(-4, 4, size=(12,) + shape[1:]).astype(np.int8)  # many ties: first index wins
    _check(path, x, tmp_path)


@pytest.mark.parametrize("block", [2, 3])
def test_depth_space(tmp_path, block):
    rng = np.random.default_rng(300 + block)
    q = (0.05, -7)
    c = 2 * block * block
    path = single_op(tmp_path, "d2s", "DEPTH_TO_SPACE", [((1, 2, 3, c),) + q], ((1, 2 * block, 3 * block, 2),) + q,
                     options("DepthToSpaceOptions", blockSize=block))
    _check(path, _inputs(rng, (1, 2, 3, c)), tmp_path)
    path = single_op(tmp_path, "s2d", "SPACE_TO_DEPTH", [((1, 2 * block, 3 * block, 2),) + q], ((1, 2, 3, c),) + q,
                     options("SpaceToDepthOptions", blockSize=block))
    _check(path, _inputs(rng, (1, 2 * block, 3 * block, 2)), tmp_path)


SLICES = [  # begin, end, strides, begin_mask, end_mask, shrink_mask, output shape of (1, 6, 7, 5)
    ([0, 1, 0, 1], [1, 5, 7, 4], [1, 2, 3, 1], 0, 0, 0, (1, 2, 3, 3)),
    ([0, -1, 6, 0], [1, 0, 0, 5], [1, -1, -2, 2], 1, 9, 0, (1, 5, 3, 3)),
    ([0, 2, 0, 0], [1, 3, 7, 5], [1, 1, 1, 1], 0, 0, 2, (1, 7, 5)),
    ([0, 0, 0, -2], [0, 0, 0, -1], [1, 1, 1, 1], 7, 7, 8, (1, 6, 7)),
]


@pytest.mark.parametrize("case", range(len(SLICES)))
def test_strided_slice(tmp_path, case):
    begin, end, strides, bm, em, sm, out_shape = SLICES[case]
    q = (0.04, 9)
    path = single_op(tmp_path, "ss", "STRIDED_SLICE", [((1, 6, 7, 5),) + q], (out_shape,) + q,
                     options("StridedSliceOptions", beginMask=bm, endMask=em, shrinkAxisMask=sm),
                     consts=[((4,), np.int32, v, None, None, 0) for v in (begin, end, strides)])
    _check(path, _inputs(np.random.default_rng(400 + case), (1, 6, 7, 5)), tmp_path)


@pytest.mark.parametrize("dil,stride,padding", [(2, 1, 0), (3, 1, 1), (2, 2, 0)])
def test_dilated_depthwise(tmp_path, dil, stride, padding):
    rng = np.random.default_rng(500 + dil)
    h, w, c, k = 9, 8, 4, 3
    eff = (k - 1) * dil + 1
    oh = -(-h // stride) if padding == 0 else (h - eff) // stride + 1
    ow = -(-w // stride) if padding == 0 else (w - eff) // stride + 1
    in_s, out_s = 0.05, 0.08
    w_s = rng.uniform(0.5, 2.0, size=c) * out_s / in_s / 9
    opts = options("DepthwiseConv2DOptions", padding=padding, strideH=stride, strideW=stride, depthMultiplier=1,
                   dilationHFactor=dil, dilationWFactor=dil)
    path = single_op(tmp_path, "dw", "DEPTHWISE_CONV_2D", [((1, h, w, c), in_s, 4)], ((1, oh, ow, c), out_s, -3),
                     opts, consts=[((1, k, k, c), np.int8, rng.integers(-127, 128, size=(1, k, k, c)), w_s,
                                    [0] * c, 3),
                                   ((c,), np.int32, rng.integers(-2000, 2000, size=c), in_s * w_s, [0] * c, 0)])
    _check(path, _inputs(rng, (1, h, w, c)), tmp_path)
