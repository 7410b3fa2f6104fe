"""Segmentation / detection ops from ONNX (graphs built with onnx.helper): the float IR matches
ONNX Runtime, the int8 blob meets an SQNR / agreement bound vs ONNX Runtime, and the blob's
Numba kernels equal the NumPy integer reference exactly."""
import numpy as np
import pytest
from onnx import TensorProto, helper

import tinycnn
from tests.conftest import ort_run
from tests.onnx_builders import G, _w
from tinycnn.convert import import_model, to_nhwc
from tinycnn.errors import UnsupportedModelError
from tinycnn.ir import Op
from tinycnn.reference.float_ops import run_float
from tinycnn.reference.int_ops import run_int
from tinycnn.report import sqnr_db

SHAPE = (1, 3, 6, 10)


def _front(g, cout=8):
    return g.node("Relu", [g.conv(g.x, SHAPE[1], cout, k=3, pads=[1, 1, 1, 1])])


def _resize(ctm, sizes=None, scales=(1, 1, 2, 2)):
    g = G(SHAPE)
    y = _front(g)
    roi = g.init(np.zeros(0, np.float32), "roi")
    if sizes is not None:  # opset 18 axes: the batch stays free
        ins = [y, roi, "", g.init(np.array(sizes, np.int64), "sizes")]
        return g, g.node("Resize", ins, mode="linear", coordinate_transformation_mode=ctm, axes=[2, 3])
    ins = [y, roi, g.init(np.array(scales, np.float32), "scales")]
    return g, g.node("Resize", ins, mode="linear", coordinate_transformation_mode=ctm)


def _conv_transpose(k, s, pads, out_pad=(0, 0), cout_per_group=5, **extra):
    g = G(SHAPE)
    y = _front(g)
    group = extra.get("group", 1)
    w, b = g.init(_w(8, cout_per_group, k, k)), g.init(_w(cout_per_group * group, scale=0.1))
    if pads is not None:
        extra["pads"] = list(pads)
    return g, g.node("ConvTranspose", [y, w, b], kernel_shape=[k, k], strides=[s, s],
                     output_padding=list(out_pad), **extra)


def _relu_after(built):
    g, y = built
    return g, g.node("Relu", [y])


def _simple(op, **attrs):
    def build():
        g = G(SHAPE)
        return g, g.node(op, [_front(g)], **attrs)
    return build


def _slice(starts, ends, axes, steps):
    g = G(SHAPE)
    ins = [_front(g)] + [g.init(np.array(v, np.int64)) for v in (starts, ends, axes, steps)]
    return g, g.node("Slice", ins)


def _dilated_depthwise():
    g = G(SHAPE)
    y = _front(g)
    return g, g.conv(y, 8, 8, k=3, group=8, dilations=[2, 2], pads=[2, 2, 2, 2])


CASES = {
    "resize_half_pixel": lambda: _resize("half_pixel"),
    "resize_align_corners": lambda: _resize("align_corners"),
    "resize_asymmetric": lambda: _resize("asymmetric"),
    "resize_pytorch_half_pixel": lambda: _resize("pytorch_half_pixel"),
    "resize_sizes_9x15": lambda: _resize("half_pixel", sizes=[9, 15]),
    "resize_down_4x5": lambda: _resize("align_corners", sizes=[4, 5]),
    "conv_transpose_k3s2_outpad": lambda: _conv_transpose(3, 2, [1, 1, 1, 1], (1, 1)),
    "conv_transpose_k4s2": lambda: _conv_transpose(4, 2, [1, 1, 1, 1]),
    "conv_transpose_k2s2": lambda: _conv_transpose(2, 2, [0, 0, 0, 0]),
    "conv_transpose_k3s1_asym": lambda: _conv_transpose(3, 1, [0, 1, 2, 0]),
    "conv_transpose_same_upper": lambda: _conv_transpose(3, 2, None, auto_pad="SAME_UPPER"),
    "conv_transpose_group2": lambda: _conv_transpose(3, 2, [1, 1, 1, 1], (1, 1), cout_per_group=3, group=2),
    "conv_transpose_depthwise": lambda: _conv_transpose(4, 2, [1, 1, 1, 1], cout_per_group=1, group=8),
    "conv_transpose_dilation2": lambda: _conv_transpose(3, 2, [1, 2, 0, 1], (1, 0), dilations=[2, 2]),
    "conv_transpose_group4_dil_2x3": lambda: _conv_transpose(3, 1, None, cout_per_group=2, group=4,
                                                             dilations=[2, 3], auto_pad="SAME_UPPER"),
    "conv_transpose_relu_fused": lambda: _relu_after(_conv_transpose(4, 2, [1, 1, 1, 1])),
    "reduce_mean_channels": _simple("ReduceMean", axes=[1], keepdims=1),
    "reduce_mean_channels_drop": _simple("ReduceMean", axes=[1], keepdims=0),
    "argmax_channels": _simple("ArgMax", axis=1, keepdims=1),
    "argmin_width_drop": _simple("ArgMin", axis=3, keepdims=0),
    "depth_to_space_dcr": _simple("DepthToSpace", blocksize=2, mode="DCR"),
    "depth_to_space_crd": _simple("DepthToSpace", blocksize=2, mode="CRD"),
    "space_to_depth": _simple("SpaceToDepth", blocksize=2),
    "slice_steps": lambda: _slice([1, 0], [-1, 100], [2, 3], [2, 3]),
    "slice_negative_step": lambda: _slice([-1, 6], [-100, 1], [3, 1], [-2, -1]),
    "dilated_depthwise": _dilated_depthwise,
}
INDEX_OUT = {"argmax_channels", "argmin_width_drop"}


def _model(tmp_path, name):
    g, out = CASES[name]()
    m = g.model(out, opset=18 if name.startswith("resize_") else 13)
    if name in INDEX_OUT:
        m.graph.output[0].type.tensor_type.elem_type = TensorProto.INT64
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(m.SerializeToString())
    return path


def _float_ir(path, x):
    g = import_model(path)
    y = run_float(g, [to_nhwc(g, x)])[0]
    return g, (y.transpose(0, 3, 1, 2) if y.ndim == 4 and g.meta["output_layouts"][0] == "NCHW" else y)


@pytest.mark.parametrize("name", sorted(CASES))
def test_float_ir_matches_onnxruntime(tmp_path, name):
    path = _model(tmp_path, name)
    x = np.random.default_rng(0).standard_normal((3,) + SHAPE[1:]).astype(np.float32)
    ref = ort_run(path, x)
    _, got = _float_ir(path, x)
    assert got.shape == ref.shape
    if name in INDEX_OUT:
        np.testing.assert_array_equal(got, ref)
    else:
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5 * np.abs(ref).max())


@pytest.mark.parametrize("name", sorted(CASES))
def test_int8_blob_vs_onnxruntime_and_kernels_exact(tmp_path, name):
    path = _model(tmp_path, name)
    rng = np.random.default_rng(1)
    calib = rng.standard_normal((64,) + SHAPE[1:]).astype(np.float32)
    x = rng.standard_normal((16,) + SHAPE[1:]).astype(np.float32)
    model = tinycnn.load(tinycnn.convert(path, calib=calib, output=tmp_path / "m.tcnn"))
    ref, got = ort_run(path, x), model.run(x)
    assert got.shape == ref.shape
    if name in INDEX_OUT:  # int8 ties / near-ties may pick another index
        assert np.mean(got == ref) >= 0.85
    else:
        assert sqnr_db(ref, got) >= 25, sqnr_db(ref, got)
    g = model.graph
    xq = model.quantize_input(to_nhwc(g, x))
    np.testing.assert_array_equal(model.run_quantized([xq])[0], run_int(g, [xq])[0])


def test_relu_after_conv_transpose_is_fused(tmp_path):
    nodes = import_model(_model(tmp_path, "conv_transpose_relu_fused")).nodes
    assert nodes[-1].op == Op.TRANSPOSE_CONV and nodes[-1].attrs["clamp"] == [0.0, None]


def test_hard_swish_patterns_fuse_into_one_node(tmp_path):
    g = G(SHAPE)
    y = _front(g)
    three, six, zero = g.init(np.float32(3), "three"), g.init(np.float32(6), "six"), g.init(np.float32(0), "zero")
    a = g.node("Div", [g.node("Mul", [y, g.node("Clip", [g.node("Add", [y, three]), zero, six])]), six])
    b = g.node("Mul", [a, g.node("HardSigmoid", [a], alpha=1 / 6, beta=0.5)])
    c = g.node("Mul", [g.node("Div", [g.node("Clip", [g.node("Add", [three, b]), zero, six]), six]), b])
    path = tmp_path / "hs.onnx"
    path.write_bytes(g.model(c).SerializeToString())
    x = np.random.default_rng(0).standard_normal((4,) + SHAPE[1:]).astype(np.float32) * 3
    graph, got = _float_ir(path, x)
    ops = [n.op for n in graph.nodes]
    assert ops.count(Op.HARD_SWISH) == 3 and Op.MUL not in ops and Op.ADD not in ops, ops
    ref = ort_run(path, x)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5 * np.abs(ref).max())


def test_hard_swish_not_fused_when_intermediate_is_reused(tmp_path):
    g = G(SHAPE)
    y = _front(g)
    three, six, zero = g.init(np.float32(3), "three"), g.init(np.float32(6), "six"), g.init(np.float32(0), "zero")
    gate = g.node("Clip", [g.node("Add", [y, three]), zero, six])
    out = g.node("Add", [g.node("Div", [g.node("Mul", [y, gate]), six]), gate])
    path = tmp_path / "hs2.onnx"
    path.write_bytes(g.model(out).SerializeToString())
    assert Op.HARD_SWISH not in [n.op for n in import_model(path).nodes]


@pytest.mark.parametrize("op,attrs,msg", [
    ("Resize", dict(mode="linear", coordinate_transformation_mode="tf_crop_and_resize"), "tf_crop_and_resize"),
    ("ArgMax", dict(axis=1, select_last_index=1), "select_last_index"),
    ("ConvTranspose", dict(kernel_shape=[3, 3], group=3), "group 3 does not divide the 8 input channels"),
])
def test_unsupported_variants_name_the_attribute(tmp_path, op, attrs, msg):
    g = G(SHAPE)
    y = _front(g)
    if op == "Resize":
        ins = [y, g.init(np.zeros(0, np.float32)), g.init(np.array([1, 1, 2, 2], np.float32))]
    elif op == "ConvTranspose":
        ins = [y, g.init(_w(8, 2, 3, 3))]
    else:
        ins = [y]
    path = tmp_path / "bad.onnx"
    path.write_bytes(g.model(g.node(op, ins, **attrs)).SerializeToString())
    with pytest.raises(UnsupportedModelError, match=msg):
        import_model(path)
