"""One handler per TFLite builtin operator: (importer, operator) -> IR nodes.

Handlers express the op's semantics in IR ops (float-graph meaning); integer details that
TFLite Micro computes differently are attached afterwards by converters/tflite_quant.py."""
from __future__ import annotations

import numpy as np

from converters.builder import same_padding
from tinycnn.ir import Op

FUSED = {0: None, 1: [0.0, None], 2: [-1.0, 1.0], 3: [0.0, 6.0]}


def _clamp(imp, op):
    code = op.options.get("FusedActivationFunction", 0)
    if code not in FUSED:
        imp.unsupported(op, f"fused activation {code} (TANH/SIGN_BIT) is not supported")
    return FUSED[code]


def _pads(imp, op, in_hw, kernel, stride, dilation):
    if op.options.get("Padding", 1) == 1:  # VALID
        return [0, 0, 0, 0]
    top, bottom = same_padding(in_hw[0], kernel[0], stride[0], dilation[0])
    left, right = same_padding(in_hw[1], kernel[1], stride[1], dilation[1])
    return [top, left, bottom, right]


def _bias(imp, op, cout):
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        return imp.value(op.inputs[2], op)
    dtype = "int32" if imp.quantized else "float32"
    name = imp._unique(imp.out_name(op) + "_bias")
    imp.graph.add_tensor(name, (cout,), dtype, np.zeros(cout, dtype))
    return name


def _weights(imp, op, axis_map=None, reshape=None):
    """Weights as an IR constant; legacy uint8 weights become int8 (w - 128) + a weight offset."""
    t = imp.tensor(op.inputs[1])
    w = imp.const_array(op.inputs[1], op)
    if reshape is not None:
        w = w.reshape(reshape)
    q = imp.quant_of(t, axis_map)
    dtype = "float32" if not imp.quantized else "int8"
    offset = None
    if imp.quantized and t.dtype == np.uint8:
        zp = t.zero_point.astype(np.int64).reshape(-1)
        if np.any(zp != zp[0]):
            imp.unsupported(op, "per-channel zero points on uint8 weights are not supported")
        # stored as int8 w - 128; the consumer adds weight_offset = 128 - zp (exact, 1 byte/weight)
        w = (w.astype(np.int16) - 128).astype(np.int8)
        offset = 128 - int(zp[0])
        q.zero_point[:] = 0
    elif imp.quantized and t.dtype != np.int8:
        imp.unsupported(op, f"weights of type {np.dtype(t.dtype).name} in a quantized model "
                            "(hybrid / float16 weights) are not supported")
    elif not imp.quantized:  # float16 or hybrid int8 weights: dequantized to float32
        w = imp.float_const(t, op)
        if reshape is not None:
            w = w.reshape(reshape)
        q = None
    if imp.quantized and t.dtype == np.int8 and np.any(t.zero_point != 0):
        imp.unsupported(op, "int8 weights with a non-zero zero point are not supported (TFLite spec: 0)")
    name = imp._unique(t.name)
    imp.graph.add_tensor(name, w.shape, dtype, np.ascontiguousarray(w), q)
    if offset is not None:
        imp.weight_offsets[name] = offset
    return name


def conv_2d(imp, op):
    o = op.options
    x_t, w_t = imp.tensor(op.inputs[0]), imp.tensor(op.inputs[1])
    cout, kh, kw, cig = w_t.shape
    stride = [o.get("StrideH", 1), o.get("StrideW", 1)]
    dil = [o.get("DilationHFactor", 1), o.get("DilationWFactor", 1)]
    attrs = {"stride": stride, "dilation": dil, "groups": x_t.shape[3] // cig,
             "pad": _pads(imp, op, x_t.shape[1:3], (kh, kw), stride, dil), "clamp": _clamp(imp, op)}
    x = imp.value(op.inputs[0], op)
    imp.emit(op, Op.CONV_2D, [x, _weights(imp, op), _bias(imp, op, cout)], attrs)


def depthwise_conv_2d(imp, op):
    o = op.options
    x_t, w_t = imp.tensor(op.inputs[0]), imp.tensor(op.inputs[1])
    _, kh, kw, cout = w_t.shape
    stride = [o.get("StrideH", 1), o.get("StrideW", 1)]
    dil = [o.get("DilationHFactor", 1), o.get("DilationWFactor", 1)]
    attrs = {"stride": stride, "dilation": dil, "depth_multiplier": cout // x_t.shape[3],
             "pad": _pads(imp, op, x_t.shape[1:3], (kh, kw), stride, dil), "clamp": _clamp(imp, op)}
    x = imp.value(op.inputs[0], op)
    w = _weights(imp, op, axis_map=lambda d: 2 if d == 3 else d, reshape=(kh, kw, cout))
    imp.emit(op, Op.DEPTHWISE_CONV_2D, [x, w, _bias(imp, op, cout)], attrs)


def fully_connected(imp, op):
    if op.options.get("WeightsFormat", 0) != 0:
        imp.unsupported(op, "shuffled FULLY_CONNECTED weights are not supported")
    w_t = imp.tensor(op.inputs[1])
    if op.inputs[0] == op.inputs[1] or imp.tensor(op.inputs[0]).data is not None:
        imp.unsupported(op, f"input tensor {op.inputs[0]} is a constant (the weights?), not an "
                            "activation: the file is corrupt")
    cout = w_t.shape[0]
    x = imp.value(op.inputs[0], op)
    out_t = imp.tensor(op.outputs[0])
    args = [x, _weights(imp, op), _bias(imp, op, cout)]
    attrs = {"clamp": _clamp(imp, op)}
    if len(out_t.shape) == 2:
        imp.emit(op, Op.FULLY_CONNECTED, args, attrs)
    else:
        mid = imp.intermediate(op.outputs[0], (-1, cout), "_fc")
        imp.emit(op, Op.FULLY_CONNECTED, args, attrs, out_idx=False, out_name=mid)
        _reshape_to(imp, op, mid)


def _pool(ir_op):
    def handler(imp, op):
        o = op.options
        x_t = imp.tensor(op.inputs[0])
        kernel = [o.get("FilterHeight", 1), o.get("FilterWidth", 1)]
        stride = [o.get("StrideH", 1), o.get("StrideW", 1)]
        attrs = {"kernel": kernel, "stride": stride, "clamp": _clamp(imp, op),
                 "pad": _pads(imp, op, x_t.shape[1:3], kernel, stride, (1, 1))}
        imp.emit(op, ir_op, [imp.value(op.inputs[0], op)], attrs)
    return handler


def mean(imp, op):
    x_t = imp.tensor(op.inputs[0])
    axes = sorted({int(a) % len(x_t.shape) for a in np.atleast_1d(imp.const_array(op.inputs[1], op))})
    if len(x_t.shape) != 4 or axes != [1, 2]:
        imp.unsupported(op, f"MEAN over axes {axes} of a rank-{len(x_t.shape)} tensor; only the "
                            "spatial mean (axes 1, 2 of NHWC) is supported")
    x = imp.value(op.inputs[0], op)
    out_t = imp.tensor(op.outputs[0])
    if len(out_t.shape) == 4:
        imp.emit(op, Op.MEAN, [x], {"keep_dims": True})
        return
    mid = imp.intermediate(op.outputs[0], (-1, 1, 1, x_t.shape[3]), "_mean4d")
    imp.emit(op, Op.MEAN, [x], {"keep_dims": False}, out_idx=False, out_name=mid)
    _reshape_to(imp, op, mid)


def _reshape_to(imp, op, src):
    out_t = imp.tensor(op.outputs[0])
    imp.emit(op, Op.RESHAPE, [src], {"shape": [-1] + list(out_t.shape[1:]), "source_op": "RESHAPE"})


def _binary(ir_op):
    def handler(imp, op):
        a, b = (imp.value(i, op) for i in op.inputs[:2])
        imp.emit(op, ir_op, [a, b], {"clamp": _clamp(imp, op)})
    return handler


def concatenation(imp, op):
    if op.options.get("FusedActivationFunction", 0) != 0:
        imp.unsupported(op, "a fused activation on CONCATENATION is not supported")
    rank = len(imp.tensor(op.outputs[0]).shape)
    axis = int(op.options.get("Axis", 0)) % rank
    if axis == 0:
        imp.unsupported(op, "concatenation along the batch axis is not supported")
    imp.emit(op, Op.CONCATENATION, [imp.value(i, op) for i in op.inputs], {"axis": axis})


def reshape(imp, op):
    imp.emit(op, Op.RESHAPE, [imp.value(op.inputs[0], op)],
             {"shape": [-1] + list(imp.tensor(op.outputs[0]).shape[1:])})


def pad(imp, op):
    pads = imp.const_array(op.inputs[1], op).astype(np.int64).reshape(-1, 2)
    if pads[0].any():
        imp.unsupported(op, "padding the batch dimension is not supported")
    attrs = {"pads": pads.tolist(), "value": 0.0}
    if op.op == "PADV2" and len(op.inputs) > 2 and op.inputs[2] >= 0:
        c_t = imp.tensor(op.inputs[2])
        raw = imp.const_array(op.inputs[2], op).reshape(-1)[0]
        if imp.quantized:
            attrs["pad_value_raw"] = int(raw) - (128 if c_t.dtype == np.uint8 else 0)
            attrs["value"] = float((int(raw) - int(c_t.zero_point[0])) * float(c_t.scale[0]))
        else:
            attrs["value"] = float(raw)
    imp.emit(op, Op.PAD, [imp.value(op.inputs[0], op)], attrs)


def transpose(imp, op):
    perm = [int(p) for p in imp.const_array(op.inputs[1], op).reshape(-1)]
    if perm[0] != 0:
        imp.unsupported(op, f"TRANSPOSE with perm {perm} moves the batch axis")
    imp.emit(op, Op.TRANSPOSE, [imp.value(op.inputs[0], op)], {"perm": perm})


def resize_nearest(imp, op):
    x_t, out_t = imp.tensor(op.inputs[0]), imp.tensor(op.outputs[0])
    align = bool(op.options.get("AlignCorners", False))
    half = bool(op.options.get("HalfPixelCenters", False))
    factors = []
    for in_size, out_size in zip(x_t.shape[1:3], out_t.shape[1:3]):
        idx = _nearest_indices(in_size, out_size, align, half)
        f = out_size // in_size if out_size % in_size == 0 else 0
        if not f or not np.array_equal(idx, np.arange(out_size) // f):
            imp.unsupported(op, f"nearest-neighbour resize {in_size}->{out_size} (align_corners={align}, "
                                f"half_pixel_centers={half}) is not an integer upscale")
        factors.append(f)
    imp.emit(op, Op.RESIZE_NEAREST, [imp.value(op.inputs[0], op)], {"scale": factors})


def _nearest_indices(in_size, out_size, align, half):
    """TFLite GetNearestNeighbor (float32 arithmetic)."""
    if align and out_size > 1:
        scale = np.float32(in_size - 1) / np.float32(out_size - 1)
    else:
        scale = np.float32(in_size) / np.float32(out_size)
    offset = np.float32(0.5 if half else 0.0)
    v = (np.arange(out_size, dtype=np.float32) + offset) * scale
    idx = (np.sign(v) * np.floor(np.abs(v) + 0.5)) if align else np.floor(v)
    idx = np.minimum(idx.astype(np.int64), in_size - 1)
    return np.maximum(idx, 0) if half else idx


def _unary(ir_op, **fixed):
    def handler(imp, op):
        attrs = dict(fixed)
        if op.op == "LEAKY_RELU":
            attrs["alpha"] = float(op.options.get("Alpha", 0.2))
        imp.emit(op, ir_op, [imp.value(op.inputs[0], op)], attrs)
    return handler


def prelu(imp, op):
    """PRELU with a constant alpha that varies along channels only (MediaPipe: shape (1, 1, C))."""
    c = imp.tensor(op.inputs[0]).shape[-1]
    a_t = imp.tensor(op.inputs[1])
    raw = imp.const_array(op.inputs[1], op)
    if raw.size not in (1, c) or (raw.size == c and raw.shape[-1] != c):
        imp.unsupported(op, f"alpha of shape {tuple(raw.shape)}: only a per-channel (..., {c}) or "
                            "scalar alpha is supported")
    if imp.quantized and a_t.quantized and a_t.scale.size > 1:
        imp.unsupported(op, "per-channel quantization of alpha is not supported (TFLite: per tensor)")
    name = imp.value(op.inputs[1], op)
    alpha = imp.graph.tensors[name]
    alpha.data = np.ascontiguousarray(np.broadcast_to(alpha.data.reshape(-1), (c,)))
    alpha.shape = (c,)
    imp.emit(op, Op.PRELU, [imp.value(op.inputs[0], op), name])


def softmax(imp, op):
    imp.emit(op, Op.SOFTMAX, [imp.value(op.inputs[0], op)], {"beta": float(op.options.get("Beta", 1.0))})


def quantize(imp, op):
    in_t = imp.tensor(op.inputs[0])
    if in_t.dtype == np.float32:
        imp.unsupported(op, "QUANTIZE from float32 inside the graph (not on a graph input) is not supported")
    imp.emit(op, Op.REQUANTIZE, [imp.value(op.inputs[0], op)])


def dequantize(imp, op):
    in_t = imp.tensor(op.inputs[0])
    if in_t.data is None:
        imp.unsupported(op, "DEQUANTIZE inside the graph (hybrid model) is not supported")
    data = imp.float_const(in_t, op)  # float16 or int8 constants (weights) -> float constant
    out = imp.tensor(op.outputs[0])
    name = imp._unique(out.name)
    imp.graph.add_tensor(name, data.shape, "float32", data)
    imp.names[op.outputs[0]] = name
    imp.model.tensors[op.outputs[0]].data = data


HANDLERS = {
    "CONV_2D": conv_2d, "DEPTHWISE_CONV_2D": depthwise_conv_2d, "FULLY_CONNECTED": fully_connected,
    "AVERAGE_POOL_2D": _pool(Op.AVERAGE_POOL_2D), "MAX_POOL_2D": _pool(Op.MAX_POOL_2D), "MEAN": mean,
    "ADD": _binary(Op.ADD), "SUB": _binary(Op.SUB), "MUL": _binary(Op.MUL),
    "CONCATENATION": concatenation, "RESHAPE": reshape, "SQUEEZE": reshape,
    "PAD": pad, "PADV2": pad, "TRANSPOSE": transpose, "RESIZE_NEAREST_NEIGHBOR": resize_nearest,
    "SOFTMAX": softmax, "LOGISTIC": _unary(Op.SIGMOID), "TANH": _unary(Op.TANH),
    "RELU": _unary(Op.CLAMP, clamp=[0.0, None]), "RELU6": _unary(Op.CLAMP, clamp=[0.0, 6.0]),
    "LEAKY_RELU": _unary(Op.LEAKY_RELU), "HARD_SWISH": _unary(Op.HARD_SWISH),
    "QUANTIZE": quantize, "DEQUANTIZE": dequantize, "PRELU": prelu,
}

from converters.tflite_ops_extra import EXTRA_HANDLERS  # noqa: E402  (segmentation/detection ops)

HANDLERS.update(EXTRA_HANDLERS)
