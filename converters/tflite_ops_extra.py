"""TFLite handlers for segmentation / detection ops: RESIZE_BILINEAR, TRANSPOSE_CONV, ARG_MAX,
ARG_MIN, DEPTH_TO_SPACE, SPACE_TO_DEPTH, STRIDED_SLICE. Hooked into converters/tflite_ops.HANDLERS
(one line there). int8 semantics are TFLite Micro's (tinycnn/reference/*.py docstrings)."""
from __future__ import annotations

import numpy as np

from converters.tflite_ops import _clamp, _reshape_to, _weights
from tinycnn.ir import Op


def resize_bilinear(imp, op):
    out_t = imp.tensor(op.outputs[0])
    attrs = {"size": [int(d) for d in out_t.shape[1:3]],
             "align_corners": bool(op.options.get("AlignCorners", False)),
             "half_pixel_centers": bool(op.options.get("HalfPixelCenters", False))}
    imp.emit(op, Op.RESIZE_BILINEAR, [imp.value(op.inputs[0], op)], attrs)


def _transpose_conv_pad(out_size, in_size, kernel, stride, same):
    """TFLM: ComputePaddingHeightWidth on the transpose output; (before, after)."""
    conv_out = (out_size + stride - 1) // stride if same else (out_size + stride - kernel) // stride
    total = max((conv_out - 1) * stride + kernel - out_size, 0)
    return total // 2, total - total // 2


def transpose_conv(imp, op):
    o = op.options
    x_idx, out_t = op.inputs[2], imp.tensor(op.outputs[0])
    w_t = imp.tensor(op.inputs[1])
    cout, kh, kw, _ = w_t.shape
    stride = [o.get("StrideH", 1), o.get("StrideW", 1)]
    same = o.get("Padding", 0) == 0
    in_hw, out_hw = imp.tensor(x_idx).shape[1:3], [int(d) for d in out_t.shape[1:3]]
    (pt, pb), (pl, pr) = (_transpose_conv_pad(out_hw[i], in_hw[i], (kh, kw)[i], stride[i], same) for i in (0, 1))
    attrs = {"stride": stride, "pad": [pt, pl, pb, pr], "output_size": out_hw, "clamp": _clamp(imp, op)}
    if len(op.inputs) > 3 and op.inputs[3] >= 0:
        bias = imp.value(op.inputs[3], op)
    else:
        dtype = "int32" if imp.quantized else "float32"
        bias = imp._unique(imp.out_name(op) + "_bias")
        imp.graph.add_tensor(bias, (cout,), dtype, np.zeros(cout, dtype))
    imp.emit(op, Op.TRANSPOSE_CONV, [imp.value(x_idx, op), _weights(imp, op), bias], attrs)


def _arg(ir_op):
    def handler(imp, op):
        x_t, out_t = imp.tensor(op.inputs[0]), imp.tensor(op.outputs[0])
        axis = int(np.atleast_1d(imp.const_array(op.inputs[1], op))[0]) % len(x_t.shape)
        if axis == 0:
            imp.unsupported(op, f"{op.op} over the batch axis is not supported")
        name = imp._unique(out_t.name)  # int32 indices (an int64 output type is written as int32)
        imp.graph.add_tensor(name, (-1,) + tuple(out_t.shape[1:]), "int32")
        imp.names[op.outputs[0]] = name
        imp.graph.meta["tflite_tensor_index"][name] = op.outputs[0]
        imp.emit(op, ir_op, [imp.value(op.inputs[0], op)], {"axis": axis, "keep_dims": False},
                 out_idx=False, out_name=name)
    return handler


def _depth_space(ir_op):
    def handler(imp, op):
        imp.emit(op, ir_op, [imp.value(op.inputs[0], op)], {"block": int(op.options["BlockSize"]), "mode": "DCR"})
    return handler


def strided_slice(imp, op):
    o = op.options
    if o.get("EllipsisMask", 0) or o.get("NewAxisMask", 0):
        imp.unsupported(op, "STRIDED_SLICE with an ellipsis or new-axis mask is not supported")
    x_t = imp.tensor(op.inputs[0])
    shape = list(x_t.shape)
    begins, ends, strides = (np.atleast_1d(imp.const_array(i, op)).astype(np.int64) for i in op.inputs[1:4])
    bmask, emask, smask = o.get("BeginMask", 0), o.get("EndMask", 0), o.get("ShrinkAxisMask", 0)
    begin, stride, size = [0] * len(shape), [1] * len(shape), [-1] + shape[1:]
    for d in range(len(begins)):
        b, e, s = int(begins[d]), int(ends[d]), int(strides[d])
        if o.get("Offset", False):
            e = b + e
        if smask >> d & 1:
            b = b + shape[d] if b < 0 else b
            start, stop, s = b, b + 1, 1
        else:
            start = None if bmask >> d & 1 else b
            stop = None if emask >> d & 1 else e
        r = range(*slice(start, stop, s).indices(shape[d]))
        if d == 0:
            if (r.start, r.step, len(r)) != (0, 1, shape[0]) or smask & 1:
                imp.unsupported(op, "STRIDED_SLICE of the batch axis is not supported")
            continue
        if len(r) == 0:
            imp.unsupported(op, f"STRIDED_SLICE leaves dimension {d} empty")
        begin[d], stride[d], size[d] = r.start, r.step, len(r)
    attrs = {"begin": begin, "stride": stride, "size": size}
    if not smask:
        imp.emit(op, Op.STRIDED_SLICE, [imp.value(op.inputs[0], op)], attrs)
        return
    mid = imp.intermediate(op.outputs[0], tuple(size), "_slice")
    imp.emit(op, Op.STRIDED_SLICE, [imp.value(op.inputs[0], op)], attrs, out_idx=False, out_name=mid)
    _reshape_to(imp, op, mid)


def expand_dims(imp, op):
    """EXPAND_DIMS (Conv1D as a 1xW CONV_2D) is a reshape to the output's static shape."""
    out_t = imp.tensor(op.outputs[0])
    if len(out_t.shape) < 2 or out_t.shape[0] != imp.tensor(op.inputs[0]).shape[0]:
        imp.unsupported(op, "EXPAND_DIMS of the batch axis is not supported")
    imp.emit(op, Op.RESHAPE, [imp.value(op.inputs[0], op)], {"shape": [-1] + list(out_t.shape[1:])})


EXTRA_HANDLERS = {
    "RESIZE_BILINEAR": resize_bilinear, "TRANSPOSE_CONV": transpose_conv,
    "ARG_MAX": _arg(Op.ARG_MAX), "ARG_MIN": _arg(Op.ARG_MIN),
    "DEPTH_TO_SPACE": _depth_space(Op.DEPTH_TO_SPACE), "SPACE_TO_DEPTH": _depth_space(Op.SPACE_TO_DEPTH),
    "STRIDED_SLICE": strided_slice, "EXPAND_DIMS": expand_dims,
}
