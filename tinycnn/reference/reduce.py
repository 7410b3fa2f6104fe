"""REDUCE_MEAN over any contiguous run of non-batch axes (the channel axis of PaddleOCR's
recognizer head; MEAN stays the spatial mean). keep_dims keeps the reduced axes as size 1.

int8 (the same arithmetic as tinycnn's MEAN, with N the number of reduced elements):
    acc = sum(x) + input_offset * N          (int32; input_offset = -input_zero_point)
    out = clamp(MultiplyByQuantizedMultiplier(acc, output_multiplier, output_shift)
                + output_offset, -128, 127)
with output_multiplier/shift = QuantizeMultiplier(input_scale / (output_scale * N)).
"""
from __future__ import annotations

import numpy as np

from tinycnn.fixedpoint import np_multiply_by_quantized_multiplier as mbqm


def reduce_mean(node, x):
    axes = tuple(node.attrs["axes"])
    return x.astype(np.float64).mean(axis=axes, keepdims=bool(node.attrs.get("keep_dims"))).astype(np.float32)


def reduce_mean_int(node, x):
    a = node.attrs
    axes = tuple(a["axes"])
    count = int(np.prod([x.shape[i] for i in axes]))
    acc = x.astype(np.int64).sum(axis=axes, keepdims=bool(a.get("keep_dims"))) + a["input_offset"] * count
    y = mbqm(acc, a["output_multiplier"], a["output_shift"]) + a["output_offset"]
    return np.clip(y, -128, 127).astype(np.int8)


def outer_reduce_inner(shape, axes):
    """(outer, reduced, inner) element counts of a contiguous run of axes."""
    lo, hi = min(axes), max(axes)
    return (int(np.prod(shape[:lo])), int(np.prod(shape[lo:hi + 1])), int(np.prod(shape[hi + 1:])))
