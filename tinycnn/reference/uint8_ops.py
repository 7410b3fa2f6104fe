"""NumPy integer oracles of the legacy uint8 TFLite variant (``kernel_variant = "uint8"``; specs
in tinycnn/opspec/uint8.py), written from TFLite's uint8 reference kernels: the weighted ops use
the exact ``w - zero point = (w - 128) + weight_offset``; AVERAGE_POOL_2D rounds the uint8 window
sum half up (reference_ops::AveragePool, uint8: ``(sum + count / 2) / count`` on values >= 0)."""
from __future__ import annotations

import numpy as np

from tinycnn.reference.float_ops import extract_patches


def _with_weight_offset(name):
    def run(node, x, w, b):
        from tinycnn.reference import int_ops  # (int_ops imports this module)
        return getattr(int_ops, name)(node, x, w.astype(np.int64) + node.attrs["weight_offset"], b)
    run.__doc__ = f"int_ops.{name} on the exact uint8 weights w - zero point"
    return run


conv_2d = _with_weight_offset("conv_2d")
depthwise_conv_2d = _with_weight_offset("depthwise_conv_2d")
fully_connected = _with_weight_offset("fully_connected")


def average_pool_2d(node, x):
    """On the uint8 values u = x + 128: (sum(u) + count // 2) // count, shifted back by -128."""
    kh, kw = node.attrs["kernel"]
    u = x.astype(np.int64) + 128
    s = extract_patches(u, kh, kw, node.attrs).sum(axis=(3, 4))
    count = extract_patches(np.ones(x.shape[:3] + (1,), np.int64), kh, kw, node.attrs).sum(axis=(3, 4))
    v = np.where(count > 0, (s + count // 2) // np.maximum(count, 1) - 128, 0)
    return np.clip(v, node.attrs["act_min"], node.attrs["act_max"]).astype(np.int8)
