"""Building blocks shared by the spec tables (limits, attribute groups, operand shorthands)."""
from __future__ import annotations

from tinycnn.opspec.schema import FLOAT32, INT8, INT16, INT32, INT64, UINT32, Attr, Operand, Param

MAX_DIM = 1 << 16  # any one dimension, stride, padding, kernel size
MAX_OFFSET = 1 << 16  # zero points / offsets (int8: [-128, 128], int16: 0)
INT32_MAX = (1 << 31) - 1
SHIFT_MIN, SHIFT_MAX = -31, 30  # multiply_by_quantized_multiplier: left <= 30, right <= 31

REF_INT = "tinycnn.reference.int_ops"
REF_16 = "tinycnn.reference.int16_ops"
REF_BIN = "tinycnn.reference.binary_int"
REF_FLOAT = "tinycnn.reference.float_ops"
REG = "tinycnn.kernels.registry"


def x(*dtypes, name="input"):
    return Operand(name, tuple(dtypes), const=False)


def y(*dtypes, name="output"):
    return Operand(name, tuple(dtypes), const=False)


def weights(*dtypes):
    return Operand("weights", tuple(dtypes), const=True)


def bias(*dtypes, optional=False):
    return Operand("bias", tuple(dtypes), const=True, optional=optional)


def ints(name, count, lo=0, hi=MAX_DIM, optional=False):
    return Attr(name, "ints", lo, hi, count=count, optional=optional)


def i(name, lo, hi, optional=False):
    return Attr(name, "int", lo, hi, optional=optional)


def offset(name):
    return i(name, -MAX_OFFSET, MAX_OFFSET)


def multiplier(name):
    return i(name, 0, INT32_MAX)


def shift(name):
    return i(name, SHIFT_MIN, SHIFT_MAX)


CONV_GEOM = (ints("stride", 2, 1), ints("dilation", 2, 1, optional=True), ints("pad", 4))
POOL_GEOM = (ints("kernel", 2, 1), ints("stride", 2, 1), ints("pad", 4))
ACT_RANGE = (i("act_min", -(1 << 15), (1 << 15) - 1), i("act_max", -(1 << 15), (1 << 15) - 1))
Q_FIELDS = (offset("input_offset"), offset("output_offset")) + ACT_RANGE
PER_CHANNEL_REQUANT = (Param("output_multiplier", "i", ("out_channels",), 0, INT32_MAX),
                       Param("output_shift", "i", ("out_channels",), SHIFT_MIN, SHIFT_MAX))
CLAMP = Attr("clamp", "clamp", optional=True)

__all__ = ["FLOAT32", "INT8", "INT16", "INT32", "INT64", "UINT32", "Attr", "Operand", "Param"]
