"""Specs of the kernel variants: TFLite's 16x8 scheme (``kernel_variant = "int16x8"``,
tinycnn/kernels/int16.py), TFLite-Micro-exact algorithms (``"tflm"``, kernels/tflite_ops.py)
and the 1-bit ops (``output_mode`` "packed" / "int8", kernels/bconv.py)."""
from __future__ import annotations

from tinycnn.opspec.common import (ACT_RANGE, CONV_GEOM, INT8, INT16, INT32, INT32_MAX, INT64, MAX_DIM,
                                   PER_CHANNEL_REQUANT, POOL_GEOM, Q_FIELDS, REF_16, REF_BIN, REG, UINT32, Attr,
                                   Operand, Param, bias, i, ints, multiplier, offset, shift, weights, x, y)
from tinycnn.opspec.int8 import SPECS as INT8_SPECS
from tinycnn.opspec.schema import Kernel, OpSpec

I16 = "tinycnn.kernels.int16"
BCONV = "tinycnn.kernels.bconv"
_ADD = next(s for s in INT8_SPECS if s.op == "ADD").attrs
_REQ = (offset("input_offset"), offset("output_offset"), multiplier("output_multiplier"), shift("output_shift"))
_16 = "int16x8"


def _w16(op, shape, extra, binder, ref):
    return OpSpec(op, _16, (x(INT16), weights(INT8), bias(INT64)), (y(INT16),), shape,
                  CONV_GEOM + extra + Q_FIELDS if extra is not None else Q_FIELDS, PER_CHANNEL_REQUANT,
                  Kernel(f"{I16}:{binder}"), f"{REF_16}:{ref}", "mac", ("act_range",),
                  "int64 accumulator, int64 bias, TFLite's int64 MultiplyByQuantizedMultiplier")


INT16X8 = (
    _w16("CONV_2D", "conv", (i("groups", 1, MAX_DIM, optional=True),), "bind_conv", "conv_2d"),
    _w16("DEPTHWISE_CONV_2D", "depthwise", (i("depth_multiplier", 1, MAX_DIM, optional=True),), "bind_dw",
         "depthwise_conv_2d"),
    _w16("FULLY_CONNECTED", "fully_connected", None, "bind_fc", "fully_connected"),
    *(OpSpec(op, _16, (x(INT16, name="input1"), Operand("input2", (INT16,))), (y(INT16),), "broadcast", _ADD, (),
             Kernel(f"{REG}:bind_add_sub"), f"{REF_16}:add_sub", "elementwise", ("act_range",),
             "the int8 add/sub kernel with left_shift 15 and int16 limits") for op in ("ADD", "SUB")),
    OpSpec("MEAN", _16, (x(INT16),), (y(INT16),), "mean", _REQ, (), Kernel(f"{I16}:bind_mean"),
           f"{REF_16}:mean", "mean"),
    OpSpec("REQUANTIZE", _16, (x(INT8, INT16, "uint8"),), (y(INT8, INT16),), "same", _REQ, (),
           Kernel(f"{I16}:bind_requant"), f"{REF_16}:requantize", "requantize", doc="int8 <-> int16 conversion"),
    OpSpec("CONCATENATION", _16, (Operand("inputs", (INT8, INT16), repeat=True),), (y(INT16),), "concat",
           (i("axis", 0, 5), offset("output_offset")), (Param("requant", "i", ("n_inputs", 3)),),
           Kernel(f"{I16}:bind_concat"), f"{REF_16}:concatenation", "copy", ("concat_requant",)),
    OpSpec("LEAKY_RELU", _16, (x(INT16),), (y(INT16),), "same",
           (offset("input_offset"), offset("output_offset"), multiplier("output_multiplier_1"),
            shift("output_shift_1"), multiplier("output_multiplier_2"), shift("output_shift_2")), (),
           Kernel(f"{I16}:bind_leaky_relu"), f"{REF_16}:leaky_relu", "elementwise",
           doc="TFLite QuantizeLeakyRelu: identity / alpha multiplier by the sign of x - zp"),
    OpSpec("TRANSPOSE_CONV", _16, (x(INT16), weights(INT8), bias(INT64)), (y(INT16),), "transpose_conv",
           (ints("stride", 2, 1), ints("pad", 4), ints("output_size", 2, 1)) + Q_FIELDS, PER_CHANNEL_REQUANT,
           Kernel(f"{I16}:bind_transpose_conv"), f"{REF_16}:transpose_conv", "mac", ("act_range",),
           "TFLM transpose_conv int16: scatter into int64 accumulators, int64 bias"),
    *(OpSpec(op, _16, (x(INT16),), (y(INT16),), "same",
             (i("input_multiplier", 0, 32767), i("input_left_shift", 0, 31)), (),
             Kernel(f"{I16}:bind_{op.lower()}"), f"{REF_16}:{op.lower()}", "elementwise",
             doc="TFLite int16 LUT algorithm (sigmoid(i/24) table, linear interpolation), output scale 2^-15")
      for op in ("SIGMOID", "TANH")),
)

TFLM = (
    OpSpec("SOFTMAX", "tflm", (x(INT8),), (y(INT8),), "same", (),
           (Param("exp_q0", "i", (256,), -1, INT32_MAX), Param("exp_acc", "i", (256,), -1, INT32_MAX)),
           Kernel("tinycnn.kernels.tflite_ops:bind_softmax_tflm"), "tinycnn.reference.tflite_ops:softmax_tflm",
           "softmax", doc="TFLM reference_ops::Softmax (gemmlowp exp, Newton-Raphson reciprocal)"),
)

_BIN_IN = (i("in_channels", 1, MAX_DIM),)
_PAD_MODE = Attr("pad_mode", "str", choices=("zero", "one"), optional=True)
# int8 output: firmware's integer affine (tinycnn.quant.binarize.int8_output_affine)
_INT8_OUT = (i("output_zero_point", -128, 127), i("dot_shift", 0, 16)) + ACT_RANGE
_ALPHA_BIAS = (Param("bias_q", "i", ("out_channels",), -(1 << 30), 1 << 30),) + PER_CHANNEL_REQUANT
_THRESHOLD = (Param("threshold", "i", ("out_channels",)),)
_MODE = {"packed": Attr("output_mode", "str", choices=("packed",)), "int8": Attr("output_mode", "str", choices=("int8",))}


def _bconv(mode):
    out = (y(UINT32),) if mode == "packed" else (y(INT8),)
    return OpSpec("BINARY_CONV_2D", mode, (x(UINT32), weights(UINT32)), out,
                  "binary_conv_packed" if mode == "packed" else "binary_conv",
                  CONV_GEOM + _BIN_IN + (_PAD_MODE, _MODE[mode]) + (() if mode == "packed" else _INT8_OUT),
                  _THRESHOLD if mode == "packed" else _ALPHA_BIAS,
                  Kernel(f"{BCONV}:bind_bconv_host", f"{BCONV}:bind_bconv_device"), f"{REF_BIN}:binary_conv_2d",
                  "xnor_popcount", ("binary_weights",) + (() if mode == "packed" else ("act_range",)),
                  "K - 2*popcount(x XOR w); host: row-buffered kernel")


def _bfc(mode):
    out = (y(UINT32),) if mode == "packed" else (y(INT8),)
    return OpSpec("BINARY_FULLY_CONNECTED", mode, (x(UINT32), weights(UINT32)), out,
                  "binary_fc_packed" if mode == "packed" else "binary_fc",
                  _BIN_IN + (i("in_pixels", 1, MAX_DIM, optional=True), _MODE[mode])
                  + (() if mode == "packed" else _INT8_OUT),
                  _THRESHOLD if mode == "packed" else _ALPHA_BIAS, Kernel(f"{BCONV}:bind_bfc"),
                  f"{REF_BIN}:binary_fully_connected", "xnor_popcount", () if mode == "packed" else ("act_range",))


BINARY = (
    _bconv("packed"), _bconv("int8"), _bfc("packed"), _bfc("int8"),
    OpSpec("BINARIZE", "", (x(INT8),), (y(UINT32),), "binarize", (i("input_zero_point", -128, 127),), (),
           Kernel(f"{BCONV}:bind_binarize"), f"{REF_BIN}:binarize", "binarize", doc="bit = x < zero point"),
    OpSpec("BINARY_MAX_POOL_2D", "", (x(UINT32),), (y(UINT32),), "binary_max_pool",
           POOL_GEOM + (i("channels", 1, MAX_DIM),) + tuple(Attr(a.name, a.kind, a.lo, a.hi, optional=True)
                                                           for a in ACT_RANGE), (),
           Kernel(f"{BCONV}:bind_bmaxpool"), f"{REF_BIN}:binary_max_pool_2d", "pool",
           doc="bitwise AND of the window's words"),
    OpSpec("CONV_2D", "packed", (x(INT8, INT16), weights(INT8, INT16), bias(INT32, INT64)), (y(UINT32),),
           "conv_packed", CONV_GEOM + (i("groups", 1, 1, optional=True), offset("input_offset"),
                                       Attr("output_mode", "str", choices=("packed",))), (),
           Kernel(f"{BCONV}:bind_conv_packed"), f"{REF_BIN}:conv_2d_maybe_packed", "mac", (),
           "sign of the exact int64 accumulator, packed 32 channels per word"),
)

SPECS = INT16X8 + TFLM + BINARY
