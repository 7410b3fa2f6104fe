"""NumPy integer oracles for the TFLite-Micro-exact op variants (``attrs["kernel_variant"] ==
"tflm"``); merged into tinycnn.reference.int_ops.INT_OPS under the key (op, "tflm")."""
from __future__ import annotations

import numpy as np

from tinycnn.ir import Op
from tinycnn.reference.float_ops import extract_patches
from tinycnn.reference.tflite_gemmlowp import softmax_int8


def softmax_tflm(node, x):
    a = node.attrs
    params = {k: a[k] for k in ("input_multiplier", "input_left_shift", "diff_min")}
    return softmax_int8(x, params).astype(x.dtype)


def average_pool_2d_u8(node, x):
    """Legacy uint8 AVERAGE_POOL_2D (TFLite reference_ops::AveragePool, uint8): the window sum
    of the uint8 values (q8 + 128) rounded half up, shifted back by -128."""
    kh, kw = node.attrs["kernel"]
    u = x.astype(np.int64) + 128
    s = extract_patches(u, kh, kw, node.attrs).sum(axis=(3, 4))
    count = extract_patches(np.ones(x.shape[:3] + (1,), np.int64), kh, kw, node.attrs).sum(axis=(3, 4))
    v = np.where(count > 0, (s + count // 2) // np.maximum(count, 1), 0) - 128
    return np.clip(v, node.attrs["act_min"], node.attrs["act_max"]).astype(np.int8)


def _with_weight_offset(op):
    def run(node, x, w, *rest):
        from tinycnn.reference.int_ops import INT_OPS
        return INT_OPS[op](node, x, w.astype(np.int64) + node.attrs["weight_offset"], *rest)
    return run


TFLM_INT_OPS = {(Op.SOFTMAX, "tflm"): softmax_tflm, (Op.AVERAGE_POOL_2D, "uint8"): average_pool_2d_u8,
                **{(op, "uint8"): _with_weight_offset(op)
                   for op in (Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.FULLY_CONNECTED)}}
