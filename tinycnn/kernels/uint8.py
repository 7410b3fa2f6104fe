"""Kernels of the legacy uint8 TFLite variant (``kernel_variant = "uint8"``, specs in
tinycnn/opspec/uint8.py, NumPy oracles in tinycnn/reference/uint8_ops.py).

CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED: the blob stores int8 weights ``w - 128`` and
``weight_offset = 128 - zero point``; at plan time the binder widens them once to the exact
int16 ``w - zero point`` (host memory) and binds the int8 kernels, which accept int16 weights.
AVERAGE_POOL_2D: pool.py's kernel with ``half_up`` (TFLite's rounding of the uint8 sum).
"""
from __future__ import annotations

import numpy as np

from tinycnn.kernels import pool, registry


def _widened(binder):
    def bind(graph, node, ins, out, scratch):
        w = ins[1].astype(np.int16) + np.int16(node.attrs["weight_offset"])
        return binder(graph, node, [ins[0], w] + list(ins[2:]), out, scratch)
    bind.__doc__ = f"uint8 variant of registry.{binder.__name__} (weights widened once at plan time)"
    return bind


bind_conv_host = _widened(registry.bind_conv_host)
bind_conv_device = _widened(registry.bind_conv_device)
bind_depthwise = _widened(registry.bind_depthwise)
bind_fully_connected = _widened(registry.bind_fully_connected)


def bind_average_pool(graph, node, ins, out, scratch):
    a = node.attrs
    g = np.array(a["kernel"] + a["stride"] + a["pad"][:2], np.int64)
    return lambda: pool.average_pool_2d_s8(ins[0], g, a["act_min"], a["act_max"], out, True)
