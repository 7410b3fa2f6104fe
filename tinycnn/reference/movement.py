"""Data-movement ops whose integer and float semantics are the same function (int8 keeps the
input's scale and zero point): DEPTH_TO_SPACE, SPACE_TO_DEPTH, STRIDED_SLICE, and the index
reductions ARG_MAX / ARG_MIN. Each function is the plain-NumPy oracle; the runtime binds the
same index views (tinycnn/kernels/registry.py), and ARG_MAX/ARG_MIN have a Numba kernel.

DEPTH_TO_SPACE (NHWC, block b), mode DCR (TFLite, ONNX default):
    out[n, h*b + i, w*b + j, c] = in[n, h, w, (i*b + j) * C_out + c]
  mode CRD (ONNX):
    out[n, h*b + i, w*b + j, c] = in[n, h, w, c * b*b + i*b + j]
SPACE_TO_DEPTH: out[n, h, w, (i*b + j) * C + c] = in[n, h*b + i, w*b + j, c]
STRIDED_SLICE: out index k on dim d reads begin[d] + k * stride[d], k < size[d]
    (size -1 = the whole batch dimension); strides may be negative.
ARG_MAX / ARG_MIN: int32 index of the first maximum (minimum) along ``axis``; keep_dims keeps
    the reduced axis with size 1.
"""
from __future__ import annotations

import numpy as np


def depth_to_space(node, x):
    b, mode = node.attrs["block"], node.attrs.get("mode", "DCR")
    n, h, w, c = x.shape
    co = c // (b * b)
    if mode == "CRD":
        y = x.reshape(n, h, w, co, b, b).transpose(0, 1, 4, 2, 5, 3)
    else:
        y = x.reshape(n, h, w, b, b, co).transpose(0, 1, 3, 2, 4, 5)
    return np.ascontiguousarray(y.reshape(n, h * b, w * b, co))


def depth_to_space_view(x, out, block, mode):
    """(source view, destination view) of the same shape: np.copyto(dst, src) is the op."""
    n, h, w, c = x.shape
    co = c // (block * block)
    dst = out.reshape(n, h, block, w, block, co)
    if mode == "CRD":
        return x.reshape(n, h, w, co, block, block).transpose(0, 1, 4, 2, 5, 3), dst
    return x.reshape(n, h, w, block, block, co).transpose(0, 1, 3, 2, 4, 5), dst


def space_to_depth(node, x):
    b = node.attrs["block"]
    n, h, w, c = x.shape
    y = x.reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5)
    return np.ascontiguousarray(y.reshape(n, h // b, w // b, b * b * c))


def space_to_depth_view(x, out, block):
    n, h, w, c = x.shape
    src = x.reshape(n, h // block, block, w // block, block, c).transpose(0, 1, 3, 2, 4, 5)
    return src, out.reshape(src.shape)


def slice_index(attrs, shape):
    """The op as a tuple of Python slices (a view of the input)."""
    index = []
    for dim, b, s, k in zip(shape, attrs["begin"], attrs["stride"], attrs["size"]):
        k = dim if k == -1 else k
        stop = b + (k - 1) * s + (1 if s > 0 else -1)
        index.append(slice(b, None if stop < 0 else stop, s))
    return tuple(index)


def strided_slice(node, x):
    return np.ascontiguousarray(x[slice_index(node.attrs, x.shape)])


def _arg(fn):
    def op(node, x):
        axis, keep = node.attrs["axis"], node.attrs.get("keep_dims", False)
        y = fn(x, axis=axis).astype(np.int32)
        return np.expand_dims(y, axis) if keep else y
    return op


arg_max = _arg(np.argmax)
arg_min = _arg(np.argmin)


def normalize_slice(dim, start, stop, step):
    """(begin, stride, size) of Python/ONNX slice semantics (starts and ends clamped)."""
    r = range(*slice(int(start), int(stop), int(step)).indices(int(dim)))
    if len(r) == 0:
        raise ValueError(f"slice [{start}:{stop}:{step}] of a dimension of size {dim} is empty")
    return r.start, r.step, len(r)
