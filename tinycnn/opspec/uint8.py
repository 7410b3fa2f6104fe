"""Specs of the legacy uint8 TFLite variant (``kernel_variant = "uint8"``, kernels/uint8.py,
oracles in reference/uint8_ops.py). A legacy (TF1, asymmetric uint8) model's activations are
shifted by -128 to int8 at import, which is exact for every op except two:

- CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED: uint8 weights have a zero point, so they are
  stored as int8 ``w - 128`` and the kernel multiplies ``(x + input_offset) * (w + weight_offset)``
  with ``weight_offset = 128 - weight zero point`` (1 byte per weight, as in the .tflite);
- AVERAGE_POOL_2D: TFLite rounds the non-negative uint8 window sum half up; on the shifted sum
  that is ``floor((sum + count / 2) / count)`` (int8's default rounds half away from zero).
"""
from __future__ import annotations

from tinycnn.opspec.common import (ACT_RANGE, CONV_GEOM, INT8, INT32, MAX_DIM, PER_CHANNEL_REQUANT, POOL_GEOM,
                                   Q_FIELDS, bias, i, weights, x, y)
from tinycnn.opspec.schema import Kernel, OpSpec

K = "tinycnn.kernels.uint8"
R = "tinycnn.reference.uint8_ops"
U8 = "uint8"
WEIGHT_OFFSET = i("weight_offset", -127, 128)  # 128 - zero point, zero point in [0, 255]
_DOC = "legacy uint8 weights: int8 w - 128 plus weight_offset (128 - zero point)"


def _weighted(op, shape, extra, binder, ref, host=None):
    return OpSpec(op, U8, (x(INT8), weights(INT8), bias(INT32)), (y(INT8),), shape,
                  CONV_GEOM + extra + Q_FIELDS + (WEIGHT_OFFSET,) if extra is not None else Q_FIELDS + (WEIGHT_OFFSET,),
                  PER_CHANNEL_REQUANT, Kernel(f"{K}:{host or binder}", f"{K}:{binder}" if host else None),
                  f"{R}:{ref}", "mac", ("act_range", "accumulator_int32"), _DOC)


SPECS = (
    _weighted("CONV_2D", "conv", (i("groups", 1, MAX_DIM, optional=True),), "bind_conv_device", "conv_2d",
              host="bind_conv_host"),
    _weighted("DEPTHWISE_CONV_2D", "depthwise", (i("depth_multiplier", 1, MAX_DIM, optional=True),),
              "bind_depthwise", "depthwise_conv_2d"),
    _weighted("FULLY_CONNECTED", "fully_connected", None, "bind_fully_connected", "fully_connected"),
    OpSpec("AVERAGE_POOL_2D", U8, (x(INT8),), (y(INT8),), "pool", POOL_GEOM + ACT_RANGE, (),
           Kernel(f"{K}:bind_average_pool"), f"{R}:average_pool_2d", "pool",
           ("act_range", "accumulator_int32", "same_dtype"),
           "legacy uint8 rounding: the uint8 window sum rounded half up"),
)
