"""NumPy integer oracles for the TFLite-Micro-exact op variants (``attrs["kernel_variant"] ==
"tflm"``); merged into tinycnn.reference.int_ops.INT_OPS under the key (op, "tflm")."""
from __future__ import annotations

from tinycnn.ir import Op
from tinycnn.reference.tflite_gemmlowp import softmax_int8


def softmax_tflm(node, x):
    a = node.attrs
    params = {k: a[k] for k in ("input_multiplier", "input_left_shift", "diff_min")}
    return softmax_int8(x, params).astype(x.dtype)


TFLM_INT_OPS = {(Op.SOFTMAX, "tflm"): softmax_tflm}
