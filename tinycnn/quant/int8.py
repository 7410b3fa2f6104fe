"""Post-training int8 quantization (TFLite int8 spec) of a float graph.

- activations: asymmetric per-tensor int8 from calibrated ranges (range always includes 0);
- weights: symmetric int8 in [-127, 127], per output channel (or per tensor on request);
- biases: int32 at input_scale * weight_scale[c];
- unary activations (sigmoid, tanh, hard-swish, leaky ReLU, ...) become a 256-entry LUT computed
  from the float function: exact for any per-tensor int8 input;
- ops that must keep their input's scale in TFLite (max/avg pool, reshape, transpose, pad,
  resize) share it; softmax/sigmoid outputs use TFLite's fixed 1/256 grid, tanh 1/128.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinycnn.ir import UNARY_OPS, Graph, Node, Op, QuantParams
from tinycnn.quant.calibrate import RangeObserver
from tinycnn.quant.prepare import prepare_graph
from tinycnn.reference.float_ops import unary as float_unary

SAME_AS_INPUT = {Op.MAX_POOL_2D, Op.AVERAGE_POOL_2D, Op.RESHAPE, Op.TRANSPOSE, Op.PAD,
                 Op.RESIZE_NEAREST, Op.RESIZE_BILINEAR, Op.DEPTH_TO_SPACE, Op.SPACE_TO_DEPTH,
                 Op.STRIDED_SLICE}
INDEX_OUTPUT = {Op.ARG_MAX, Op.ARG_MIN}  # int32 indices, no quantization
FIXED_OUTPUT = {Op.SOFTMAX: (1 / 256, -128), Op.SIGMOID: (1 / 256, -128),
                Op.HARD_SIGMOID: (1 / 256, -128), Op.TANH: (1 / 128, 0)}


@dataclass
class QuantConfig:
    calibration: str = "minmax"  # minmax | percentile | mse | entropy
    percentile: float = 99.99
    per_channel: bool = True


def choose_qparams(lo: float, hi: float, qmin=-128, qmax=127) -> QuantParams:
    """TFLite ChooseQuantizationParams: the range is widened to contain 0, the zero point nudged."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi == lo:
        return QuantParams(np.float32(1.0 / 255), np.int32(qmin - round(lo * 255)))
    scale = (hi - lo) / (qmax - qmin)
    zp_from_min = qmin - lo / scale
    zp = int(np.clip(np.floor(zp_from_min + 0.5), qmin, qmax))
    return QuantParams(np.float32(scale), np.int32(zp))


def quantize_values(x, q: QuantParams, qmin=-128, qmax=127, dtype=np.int8):
    scale = q.scale.astype(np.float64)
    zp = q.zero_point.astype(np.int64)
    if q.axis is not None:
        shape = [1] * x.ndim
        shape[q.axis] = -1
        scale, zp = scale.reshape(shape), zp.reshape(shape)
    r = x.astype(np.float64) / scale
    r = np.sign(r) * np.floor(np.abs(r) + 0.5)  # round half away from zero, as TfLiteRound
    return np.clip(r + zp, qmin, qmax).astype(dtype)


def symmetric_weight_qparams(w, axis, per_channel=True) -> QuantParams:
    if per_channel:
        other = tuple(i for i in range(w.ndim) if i != axis)
        amax = np.abs(w).max(axis=other).astype(np.float64)
    else:
        amax = np.array([np.abs(w).max()], np.float64)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    return QuantParams(scale, np.zeros(scale.shape, np.int32), axis if per_channel else None)


def _weight_axis(op):
    return 2 if op == Op.DEPTHWISE_CONV_2D else 0


WEIGHTED_INT8 = (Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.FULLY_CONNECTED, Op.TRANSPOSE_CONV)


def _assign_activation_qparams(graph: Graph, obs: RangeObserver, cfg: QuantConfig):
    qp = {}

    def from_range(name):
        lo, hi = obs.range(name, cfg.calibration, cfg.percentile)
        return choose_qparams(lo, hi)

    for name in graph.inputs:
        qp[name] = from_range(name)
    for node in graph.nodes:
        out = node.outputs[0]
        if node.op in SAME_AS_INPUT:
            qp[out] = qp[node.inputs[0]]
        elif node.op in INDEX_OUTPUT:
            qp[out] = None
        elif node.op in FIXED_OUTPUT:
            s, z = FIXED_OUTPUT[node.op]
            qp[out] = QuantParams(np.float32(s), np.int32(z))
        else:
            qp[out] = from_range(out)
    return qp


def _lut_for(node: Node, in_q: QuantParams, out_q: QuantParams) -> np.ndarray:
    q = np.arange(-128, 128, dtype=np.int32)
    real = (q - int(in_q.zero_point[0])).astype(np.float32) * np.float32(in_q.scale[0])
    y = float_unary(node, real)
    return quantize_values(y, out_q).astype(np.int8)


def quantize_int8(graph: Graph, obs: RangeObserver, cfg: QuantConfig | None = None) -> Graph:
    """Return a new int8 graph with prepared integer parameters."""
    cfg = cfg or QuantConfig()
    fg = graph
    qg = Graph(name=fg.name, meta={**fg.meta, "scheme": "int8",
                                   "calibration": cfg.calibration, "per_channel": cfg.per_channel})
    qp = _assign_activation_qparams(fg, obs, cfg)
    for name in fg.inputs:
        t = fg.tensors[name]
        qg.add_tensor(name, t.shape, "int8", quant=qp[name])
    qg.inputs = list(fg.inputs)
    for node in fg.nodes:
        out = node.outputs[0]
        t_out = fg.tensors[out]
        qg.add_tensor(out, t_out.shape, "int32" if node.op in INDEX_OUTPUT else "int8", quant=qp[out])
        new = Node(node.name, node.op, list(node.inputs), [out], dict(node.attrs))
        if node.op in WEIGHTED_INT8:
            w = fg.tensors[node.inputs[1]].data
            axis = _weight_axis(node.op)
            wq = symmetric_weight_qparams(w, axis, cfg.per_channel)
            wname = node.inputs[1]
            qg.add_tensor(wname, w.shape, "int8", quantize_values(w, wq, -127, 127), wq)
            cout = t_out.shape[-1]
            in_scale = float(qp[node.inputs[0]].scale[0])
            bias_scale = (in_scale * np.broadcast_to(wq.scale.astype(np.float64), (cout,)))
            b = (fg.tensors[node.inputs[2]].data.astype(np.float64)
                 if len(node.inputs) > 2 and node.inputs[2] else np.zeros(cout))
            bq = np.clip(np.round(b / bias_scale), -2**31, 2**31 - 1).astype(np.int32)
            bname = node.inputs[2] if len(node.inputs) > 2 and node.inputs[2] else qg.unique_name(out + "_bias")
            qg.add_tensor(bname, (cout,), "int32", bq,
                          QuantParams(bias_scale.astype(np.float32), np.zeros(cout, np.int32), 0))
            new.inputs = [node.inputs[0], wname, bname]
        elif node.op in UNARY_OPS:
            new.op = Op.LUT
            new.attrs["source_op_type"] = node.op.value
            new.params["lut"] = _lut_for(node, qp[node.inputs[0]], qp[out])
        elif node.op == Op.SOFTMAX:
            in_scale = float(qp[node.inputs[0]].scale[0])
            beta = float(node.attrs.get("beta", 1.0))
            d = np.arange(256, dtype=np.float64)
            new.params["exp_table"] = np.round(np.exp(-beta * in_scale * d) * (1 << 20)).astype(np.int32)
        for i in new.inputs:  # constant operands of elementwise ops
            if i and i in fg.tensors and fg.tensors[i].is_const and i not in qg.tensors:
                _quantize_const_operand_into(qg, fg, i)
        qg.nodes.append(new)
    qg.outputs = list(fg.outputs)
    return prepare_graph(qg)


def _quantize_const_operand_into(qg, fg, name):
    data = fg.tensors[name].data
    q = choose_qparams(float(data.min()), float(data.max()))
    qg.add_tensor(name, data.shape, "int8", quantize_values(data, q), q)
