"""Specs of the default int8 kernels (TFLite int8 spec; tinycnn/kernels/, oracles in
tinycnn/reference/int_ops.py)."""
from __future__ import annotations

from tinycnn.opspec.common import (ACT_RANGE, CONV_GEOM, INT8, INT16, INT32, UINT32, INT32_MAX, POOL_GEOM, PER_CHANNEL_REQUANT,
                                   Q_FIELDS, REF_INT, REG, SHIFT_MAX, SHIFT_MIN, Attr, Operand, Param, bias, i,
                                   ints, multiplier, offset, shift, weights, x, y)
from tinycnn.opspec.schema import Kernel, OpSpec
from tinycnn.opspec.seg import INT8_SPECS as SEG_SPECS


def _ref(name):
    return f"{REF_INT}:{name}"


def _k(host, device=None):
    return Kernel(f"{REG}:{host}", f"{REG}:{device}" if device else None)


_ADD_FIELDS = (offset("input1_offset"), offset("input2_offset"), offset("output_offset"), i("left_shift", 0, 20),
               multiplier("input1_multiplier"), shift("input1_shift"), multiplier("input2_multiplier"),
               shift("input2_shift"), multiplier("output_multiplier"), shift("output_shift")) + ACT_RANGE
_REQ = (offset("input_offset"), offset("output_offset"), multiplier("output_multiplier"), shift("output_shift"))

SPECS = (
    OpSpec("CONV_2D", "", (x(INT8), weights(INT8, INT16), bias(INT32)), (y(INT8),), "conv",
           CONV_GEOM + (i("groups", 1, 1 << 16, optional=True),) + Q_FIELDS, PER_CHANNEL_REQUANT,
           _k("bind_conv_host", "bind_conv_device"), _ref("conv_2d"), "mac",
           ("act_range", "accumulator_int32"), "host: float32/VNNI GEMM fast path; device: im2col column"),
    OpSpec("DEPTHWISE_CONV_2D", "", (x(INT8), weights(INT8, INT16), bias(INT32)), (y(INT8),), "depthwise",
           CONV_GEOM + (i("depth_multiplier", 1, 1 << 16, optional=True),) + Q_FIELDS, PER_CHANNEL_REQUANT,
           _k("bind_depthwise"), _ref("depthwise_conv_2d"), "mac", ("act_range", "accumulator_int32")),
    OpSpec("FULLY_CONNECTED", "", (x(INT8), weights(INT8, INT16), bias(INT32)), (y(INT8),), "fully_connected",
           Q_FIELDS, PER_CHANNEL_REQUANT, _k("bind_fully_connected"), _ref("fully_connected"), "mac",
           ("act_range", "accumulator_int32")),
    OpSpec("MAX_POOL_2D", "", (x(INT8, INT16),), (y(INT8, INT16),), "pool", POOL_GEOM + ACT_RANGE, (),
           _k("bind_max_pool"), _ref("max_pool_2d"), "pool", ("act_range", "same_dtype")),
    OpSpec("AVERAGE_POOL_2D", "", (x(INT8, INT16),), (y(INT8, INT16),), "pool", POOL_GEOM + ACT_RANGE, (),
           _k("bind_average_pool"), _ref("average_pool_2d"), "pool", ("act_range", "accumulator_int32", "same_dtype")),
    OpSpec("MEAN", "", (x(INT8),), (y(INT8),), "mean", _REQ, (), _k("bind_mean"), _ref("mean"), "mean",
           ("accumulator_int32",)),
    OpSpec("ADD", "", (x(INT8, name="input1"), Operand("input2", (INT8,))), (y(INT8),), "broadcast",
           _ADD_FIELDS, (), _k("bind_add_sub"), _ref("add_sub"), "elementwise", ("act_range",)),
    OpSpec("SUB", "", (x(INT8, name="input1"), Operand("input2", (INT8,))), (y(INT8),), "broadcast",
           _ADD_FIELDS, (), _k("bind_add_sub"), _ref("add_sub"), "elementwise", ("act_range",)),
    OpSpec("MUL", "", (x(INT8, name="input1"), Operand("input2", (INT8,))), (y(INT8),), "broadcast",
           (offset("input1_offset"), offset("input2_offset"), offset("output_offset"),
            multiplier("output_multiplier"), shift("output_shift")) + ACT_RANGE, (),
           _k("bind_mul"), _ref("mul"), "elementwise", ("act_range",)),
    OpSpec("PRELU", "", (x(INT8), Operand("alpha", (INT8,))), (y(INT8),), "broadcast",
           (offset("input_offset"), offset("alpha_offset"), offset("output_offset"),
            multiplier("output_multiplier_1"), shift("output_shift_1"),
            multiplier("output_multiplier_2"), shift("output_shift_2")), (),
           _k("bind_prelu"), _ref("prelu"), "elementwise"),
    OpSpec("LUT", "", (x(INT8),), (y(INT8),), "same", (), (Param("lut", "i", (256,), -128, 127),),
           _k("bind_lut"), _ref("lut"), "lut", doc="any int8 unary op as a 256-entry table"),
    OpSpec("REQUANTIZE", "", (x(INT8),), (y(INT8),), "same", _REQ, (), _k("bind_requantize"),
           _ref("requantize"), "requantize"),
    OpSpec("SOFTMAX", "", (x(INT8),), (y(INT8),), "same", (),
           (Param("exp_table", "i", (256,), 0, 1 << 24),), _k("bind_softmax"), _ref("softmax"), "softmax",
           ("exp_table_positive",)),
    OpSpec("CONCATENATION", "", (Operand("inputs", (INT8,), repeat=True),), (y(INT8),), "concat",
           (i("axis", 0, 5), offset("output_offset")), (Param("requant", "i", ("n_inputs", 3)),),
           _k("bind_concat"), _ref("concatenation"), "copy", ("concat_requant",)),
    OpSpec("RESHAPE", "", (x(INT8, INT16, UINT32),), (y(INT8, INT16, UINT32),), "reshape", (), (), _k("bind_reshape"), _ref("reshape"), "copy", ("same_dtype",)),
    OpSpec("TRANSPOSE", "", (x(INT8, INT16),), (y(INT8, INT16),), "transpose", (Attr("perm", "ints", 0, 5),), (),
           _k("bind_transpose"), _ref("transpose"), "copy", ("same_dtype",)),
    OpSpec("PAD", "", (x(INT8, INT16),), (y(INT8, INT16),), "pad",
           (Attr("pads", "int_rows", 0, 1 << 12), i("pad_value_q", -(1 << 15), (1 << 15) - 1)), (),
           _k("bind_pad"), _ref("pad"), "copy", ("pad_value_in_range", "same_dtype")),
    OpSpec("RESIZE_NEAREST", "", (x(INT8, INT16),), (y(INT8, INT16),), "resize", (ints("scale", 2, 1, 64),), (),
           _k("bind_resize_nearest"), _ref("resize_nearest"), "copy", ("same_dtype",)),
    *SEG_SPECS,
)

__all__ = ["SPECS", "INT32_MAX", "SHIFT_MAX", "SHIFT_MIN"]
