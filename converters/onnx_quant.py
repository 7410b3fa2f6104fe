"""Quantized constants in float ONNX graphs: ``DequantizeLinear`` of an initializer (weight-only
quantized exports) is folded into a float32 constant at import; an integer constant where a
float weight is expected is refused, never used as real values."""
from __future__ import annotations

import numpy as np


def dequantize_linear(im):
    """y = (x - zero_point) * scale, per tensor or along ``axis`` (default 1)."""
    n = im.node
    if not all(im.is_const(i) for i in n.input if i):
        im.fail("DequantizeLinear of an activation (a QDQ-quantized ONNX graph) is not supported: "
                "export the float model, or only weights as DequantizeLinear(initializer)")
    if int(im.attr("block_size", 0)):
        im.fail("blocked DequantizeLinear (block_size) is not supported")
    x = im.const(n.input[0])
    scale = im.const(n.input[1]).astype(np.float64)
    zp = im.const(n.input[2]).astype(np.float64) if len(n.input) > 2 and n.input[2] else np.zeros(1)
    if scale.size > 1:
        axis = int(im.attr("axis", 1)) % x.ndim
        if scale.size != x.shape[axis]:
            im.fail(f"{scale.size} scales for {x.shape[axis]} channels on axis {axis}")
        shape = [1] * x.ndim
        shape[axis] = -1
        scale, zp = scale.reshape(shape), zp.reshape(shape)
    im.consts[n.output[0]] = ((x.astype(np.float64) - zp) * scale).astype(np.float32)


def float_weight(im, name) -> np.ndarray:
    """A constant used as a float weight/bias: refuse integer data (raw quantized values)."""
    arr = im.const(name)
    if not np.issubdtype(arr.dtype, np.floating):
        im.fail(f"constant '{name}' is {arr.dtype.name} where float weights are expected (a quantized "
                "initializer needs a DequantizeLinear in front of it)")
    return arr.astype(np.float32)
