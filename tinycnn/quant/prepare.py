"""Per-node integer parameters computed ONCE from the tensors' scales and zero points
(TFLite Micro's *prepare* step). The kernels read only what is stored here.

Both the tinycnn quantizer and the TFLite importer call ``prepare_graph`` on a graph whose
activation tensors are int8 with QuantParams and whose weights/biases are already integer.
The formulas follow TFLite Micro's reference kernels (conv.cc / depthwise_conv.cc /
fully_connected.cc via PopulateConvolutionQuantizationParams, add.cc, mul.cc, prelu.cc,
pooling.cc, concatenation.cc, quantize.cc).

Fields per op (attrs are scalars, params are arrays):
  CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED:
      attrs input_offset, output_offset, act_min, act_max; params output_multiplier[C], output_shift[C]
  ADD, SUB: attrs input1_offset, input2_offset, output_offset, left_shift,
      input1_multiplier, input1_shift, input2_multiplier, input2_shift,
      output_multiplier, output_shift, act_min, act_max
  MUL: attrs input1_offset, input2_offset, output_offset, output_multiplier, output_shift, act_min, act_max
  PRELU: attrs input_offset, alpha_offset, output_offset, output_multiplier_1, output_shift_1,
      output_multiplier_2, output_shift_2
  MEAN: attrs input_offset, output_offset, output_multiplier, output_shift
  MAX_POOL_2D, AVERAGE_POOL_2D: attrs act_min, act_max
  CONCATENATION: params requant[n_inputs, 3] = (input_offset, multiplier, shift), multiplier 0 = copy;
      attrs output_offset
  REQUANTIZE: attrs input_offset, output_offset, output_multiplier, output_shift
  PAD: attrs pad_value_q
  LUT, SOFTMAX: params set by the quantizer/importer (lut, exp_table)
  TRANSPOSE_CONV: as CONV_2D (per-output-channel multipliers; weights [C_out, KH, KW, C_in])
  REDUCE_MEAN: as MEAN with N = the number of reduced elements
  RESIZE_BILINEAR, DEPTH_TO_SPACE, SPACE_TO_DEPTH, STRIDED_SLICE, ARG_MAX, ARG_MIN: nothing
      (input and output share scale and zero point; ARG_* write int32 indices)
"""
from __future__ import annotations

import numpy as np

from tinycnn.fixedpoint import quantize_multiplier, quantize_multipliers
from tinycnn.ir import Graph, Node, Op

QMIN, QMAX = -128, 127


def _qp(graph, name):
    t = graph.tensors[name]
    if t.quant is None:
        raise ValueError(f"tensor '{name}' has no quantization parameters")
    return t.quant


def _range(graph, name):
    t = graph.tensors[name]
    info = np.iinfo(np.dtype(t.dtype)) if t.dtype in ("int8", "uint8", "int16") else np.iinfo(np.int8)
    return int(info.min), int(info.max)


def activation_range(graph, node, out_name):
    """Quantized clamp limits for the node's fused activation (TFLite
    CalculateActivationRangeQuantized: limits rounded to the output grid, then intersected)."""
    qmin, qmax = _range(graph, out_name)
    q = _qp(graph, out_name)
    scale, zp = float(q.scale[0]), int(q.zero_point[0])
    lo, hi = node.attrs.get("clamp") or (None, None)
    act_min, act_max = qmin, qmax
    if lo is not None:
        act_min = max(qmin, zp + int(_round_away(np.float32(lo) / np.float32(scale))))
    if hi is not None:
        act_max = min(qmax, zp + int(_round_away(np.float32(hi) / np.float32(scale))))
    return act_min, act_max


def _round_away(x):
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def prepare_weighted(graph, node):
    x, w = node.inputs[0], node.inputs[1]
    out = node.outputs[0]
    in_q, w_q, out_q = _qp(graph, x), _qp(graph, w), _qp(graph, out)
    in_scale, out_scale = float(in_q.scale[0]), float(out_q.scale[0])
    cout = graph.tensors[out].shape[-1]
    w_scales = np.broadcast_to(w_q.scale.astype(np.float64), (cout,))
    effective = [in_scale * float(ws) / out_scale for ws in w_scales]
    mult, shift = quantize_multipliers(effective)
    node.params["output_multiplier"] = mult
    node.params["output_shift"] = shift
    node.attrs["input_offset"] = -int(in_q.zero_point[0])
    node.attrs["output_offset"] = int(out_q.zero_point[0])
    node.attrs["act_min"], node.attrs["act_max"] = activation_range(graph, node, out)


def prepare_add_sub(graph, node):
    (a, b), out = node.inputs, node.outputs[0]
    qa, qb, qo = _qp(graph, a), _qp(graph, b), _qp(graph, out)
    sa, sb, so = float(qa.scale[0]), float(qb.scale[0]), float(qo.scale[0])
    left_shift = 20  # int8 (TFLM add.cc: 20 for int8, 15 for int16)
    twice_max = 2 * max(sa, sb)
    m1, s1 = quantize_multiplier(sa / twice_max)
    m2, s2 = quantize_multiplier(sb / twice_max)
    mo, so_ = quantize_multiplier(twice_max / ((1 << left_shift) * so))
    amin, amax = activation_range(graph, node, out)
    node.attrs.update(input1_offset=-int(qa.zero_point[0]), input2_offset=-int(qb.zero_point[0]),
                      output_offset=int(qo.zero_point[0]), left_shift=left_shift,
                      input1_multiplier=m1, input1_shift=s1, input2_multiplier=m2, input2_shift=s2,
                      output_multiplier=mo, output_shift=so_, act_min=amin, act_max=amax)


def prepare_mul(graph, node):
    (a, b), out = node.inputs, node.outputs[0]
    qa, qb, qo = _qp(graph, a), _qp(graph, b), _qp(graph, out)
    m, s = quantize_multiplier(float(qa.scale[0]) * float(qb.scale[0]) / float(qo.scale[0]))
    amin, amax = activation_range(graph, node, out)
    node.attrs.update(input1_offset=-int(qa.zero_point[0]), input2_offset=-int(qb.zero_point[0]),
                      output_offset=int(qo.zero_point[0]), output_multiplier=m, output_shift=s,
                      act_min=amin, act_max=amax)


def prepare_prelu(graph, node):
    (x, alpha), out = node.inputs, node.outputs[0]
    qx, qa, qo = _qp(graph, x), _qp(graph, alpha), _qp(graph, out)
    m1, s1 = quantize_multiplier(float(qx.scale[0]) / float(qo.scale[0]))
    m2, s2 = quantize_multiplier(float(qx.scale[0]) * float(qa.scale[0]) / float(qo.scale[0]))
    node.attrs.update(input_offset=-int(qx.zero_point[0]), alpha_offset=-int(qa.zero_point[0]),
                      output_offset=int(qo.zero_point[0]), output_multiplier_1=m1, output_shift_1=s1,
                      output_multiplier_2=m2, output_shift_2=s2)


def prepare_mean(graph, node):
    x, out = node.inputs[0], node.outputs[0]
    qx, qo = _qp(graph, x), _qp(graph, out)
    _, h, w, _ = graph.tensors[x].shape
    m, s = quantize_multiplier(float(qx.scale[0]) / (float(qo.scale[0]) * h * w))
    node.attrs.update(input_offset=-int(qx.zero_point[0]), output_offset=int(qo.zero_point[0]),
                      output_multiplier=m, output_shift=s)


def prepare_reduce_mean(graph, node):
    x, out = node.inputs[0], node.outputs[0]
    qx, qo = _qp(graph, x), _qp(graph, out)
    shape = graph.tensors[x].concrete_shape(1)
    count = int(np.prod([shape[i] for i in node.attrs["axes"]]))
    m, s = quantize_multiplier(float(qx.scale[0]) / (float(qo.scale[0]) * count))
    node.attrs.update(input_offset=-int(qx.zero_point[0]), output_offset=int(qo.zero_point[0]),
                      output_multiplier=m, output_shift=s)


def prepare_requantize(graph, node):
    x, out = node.inputs[0], node.outputs[0]
    qx, qo = _qp(graph, x), _qp(graph, out)
    m, s = quantize_multiplier(float(qx.scale[0]) / float(qo.scale[0]))
    node.attrs.update(input_offset=-int(qx.zero_point[0]), output_offset=int(qo.zero_point[0]),
                      output_multiplier=m, output_shift=s)


def prepare_concat(graph, node):
    qo = _qp(graph, node.outputs[0])
    rows = []
    for name in node.inputs:
        qi = _qp(graph, name)
        same = (np.float32(qi.scale[0]) == np.float32(qo.scale[0])
                and int(qi.zero_point[0]) == int(qo.zero_point[0]))
        if same:
            rows.append((0, 0, 0))
        else:
            m, s = quantize_multiplier(float(qi.scale[0]) / float(qo.scale[0]))
            rows.append((-int(qi.zero_point[0]), m, s))
    node.params["requant"] = np.array(rows, np.int32).reshape(-1, 3)
    node.attrs["output_offset"] = int(qo.zero_point[0])


def prepare_pool(graph, node):
    node.attrs["act_min"], node.attrs["act_max"] = activation_range(graph, node, node.outputs[0])


def prepare_pad(graph, node):
    q = _qp(graph, node.outputs[0])
    v = float(node.attrs.get("value", 0.0))
    qmin, qmax = _range(graph, node.outputs[0])
    node.attrs["pad_value_q"] = int(np.clip(int(q.zero_point[0]) + _round_away(v / float(q.scale[0])),
                                            qmin, qmax))


PREPARE = {
    Op.CONV_2D: prepare_weighted, Op.DEPTHWISE_CONV_2D: prepare_weighted,
    Op.FULLY_CONNECTED: prepare_weighted,
    Op.ADD: prepare_add_sub, Op.SUB: prepare_add_sub, Op.MUL: prepare_mul, Op.PRELU: prepare_prelu,
    Op.MEAN: prepare_mean, Op.REQUANTIZE: prepare_requantize, Op.CONCATENATION: prepare_concat,
    Op.MAX_POOL_2D: prepare_pool, Op.AVERAGE_POOL_2D: prepare_pool, Op.PAD: prepare_pad,
    Op.TRANSPOSE_CONV: prepare_weighted, Op.REDUCE_MEAN: prepare_reduce_mean,
}


def prepare_graph(graph: Graph) -> Graph:
    for node in graph.nodes:
        fn = PREPARE.get(node.op)
        if fn is not None and graph.tensors[node.outputs[0]].dtype != "float32":
            fn(graph, node)
    return graph


def prepare_node(graph: Graph, node: Node):
    fn = PREPARE.get(node.op)
    if fn is not None:
        fn(graph, node)
