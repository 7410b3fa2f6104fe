"""Integer parameters of an imported int8 TFLite graph, computed as TFLite Micro does.

``prepare_graph`` (tinycnn.quant.prepare) already follows TFLM for CONV_2D, DEPTHWISE_CONV_2D,
FULLY_CONNECTED, ADD, SUB, MUL, pools and REQUANTIZE. On top of it:
- LOGISTIC, TANH, HARD_SWISH, LEAKY_RELU, RELU, RELU6 and int8->int8 QUANTIZE become ``Op.LUT``
  tables computed by running TFLM's integer algorithm (tinycnn.reference.tflite_gemmlowp) on all
  256 inputs: bit-exact by construction, free at run time;
- SOFTMAX uses the TFLM int8 algorithm (``kernel_variant = "tflm"``, kernels/tflite_ops.py);
- MEAN uses QuantizedMeanOrSum's multiplier (1/N folded into the multiplier, then divided);
- legacy uint8 weights are stored as int8 ``w - 128``; CONV_2D / DEPTHWISE_CONV_2D /
  FULLY_CONNECTED add ``weight_offset = 128 - zero_point`` (``kernel_variant = "uint8"``);
- AVERAGE_POOL_2D of a legacy uint8 model rounds the uint8 sum half up (``kernel_variant =
  "uint8"``): after the -128 shift, int8's round-half-away-from-zero differs at ties;
- CONCATENATION copies raw int8 values (TFLM does not requantize its inputs);
- PAD pads with the output zero point, PADV2 with the raw constant value.
"""
from __future__ import annotations

from converters.tflite_int16 import has_int16
from tinycnn.errors import UnsupportedModelError
from tinycnn.ir import Op
from tinycnn.quant.prepare import prepare_graph
from tinycnn.reference import tflite_gemmlowp as tg


def _qp(graph, name):
    q = graph.tensors[name].quant
    if q is None:
        raise ValueError(f"tensor '{name}' has no quantization parameters")
    return float(q.scale[0]), int(q.zero_point[0])


def _lut(imp, node):
    g = imp.graph
    s_in, z_in = _qp(g, node.inputs[0])
    s_out, z_out = _qp(g, node.outputs[0])
    tfl = node.attrs.get("tflite_op")
    if tfl == "LOGISTIC":
        table = tg.logistic_lut(s_in, z_in)
    elif tfl == "TANH":
        table = tg.tanh_lut(s_in, z_in)
    elif tfl == "HARD_SWISH":
        table = tg.hard_swish_lut(s_in, z_in, s_out, z_out)
    elif tfl == "LEAKY_RELU":
        table = tg.leaky_relu_lut(s_in, z_in, s_out, z_out, node.attrs["alpha"])
    elif tfl == "RELU":
        table = tg.relu_lut(s_in, z_in, s_out, z_out)
    elif tfl == "RELU6":
        table = tg.relu6_lut(s_in, z_in)
    elif tfl == "QUANTIZE":
        table = tg.requantize_lut(s_in, z_in, s_out, z_out)
    else:
        raise UnsupportedModelError(imp.path, node.name, str(tfl), "no int8 table for this op")
    node.attrs["source_op_type"] = node.op.value
    node.op = Op.LUT
    node.params["lut"] = table


def _per_tensor(imp, node):
    for name in [node.inputs[0], node.outputs[0]]:
        q = imp.graph.tensors[name].quant
        if q is None or q.scale.size != 1:
            raise UnsupportedModelError(imp.path, node.name, node.attrs.get("tflite_op", node.op.value),
                                        f"tensor '{name}' must have per-tensor quantization")


def finish_quantized(imp):
    g = imp.graph
    for node in g.nodes:
        if node.op in (Op.SIGMOID, Op.TANH, Op.HARD_SWISH, Op.LEAKY_RELU, Op.CLAMP, Op.REQUANTIZE) \
                and not has_int16(g, node):  # int16: converters/tflite_int16.py
            _per_tensor(imp, node)
            _lut(imp, node)
    for node in g.nodes:
        if len(node.inputs) > 1 and node.inputs[1] in imp.weight_offsets:
            if node.op not in (Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.FULLY_CONNECTED):
                raise UnsupportedModelError(imp.path, node.name, node.attrs.get("tflite_op", node.op.value),
                                            "uint8 weights are supported on CONV_2D, DEPTHWISE_CONV_2D and "
                                            "FULLY_CONNECTED only")
            node.attrs.update(kernel_variant="uint8", weight_offset=imp.weight_offsets[node.inputs[1]])
        if node.op == Op.PRELU:  # TFLM: one alpha offset and one multiplier pair
            _per_tensor(imp, node)
            q = g.tensors[node.inputs[1]].quant
            if q is None or q.scale.size != 1:
                raise UnsupportedModelError(imp.path, node.name, "PRELU", "alpha must have per-tensor "
                                            "quantization")
    prepare_graph(g)
    for node in g.nodes:
        if node.op == Op.SOFTMAX:
            _per_tensor(imp, node)
            s_in, _ = _qp(g, node.inputs[0])
            try:
                p = tg.softmax_params(s_in, node.attrs.get("beta", 1.0))
            except ValueError as exc:
                raise UnsupportedModelError(imp.path, node.name, "SOFTMAX", str(exc)) from exc
            node.attrs.update(kernel_variant="tflm", **p)
            node.params["exp_q0"], node.params["exp_acc"] = tg.softmax_tables(p)
        elif node.op == Op.MEAN:
            s_in, _ = _qp(g, node.inputs[0])
            s_out, _ = _qp(g, node.outputs[0])
            _, h, w, _ = g.tensors[node.inputs[0]].shape
            m, s = tg.mean_multiplier(s_in, s_out, h * w)
            node.attrs.update(output_multiplier=m, output_shift=s)
        elif node.op == Op.AVERAGE_POOL_2D and imp.uint8:
            node.attrs["kernel_variant"] = "uint8"  # rounding of the unshifted uint8 sum
        elif node.op == Op.CONCATENATION:
            node.params["requant"][:] = 0
        elif node.op == Op.PAD:
            _, z_out = _qp(g, node.outputs[0])
            node.attrs["pad_value_q"] = int(node.attrs.get("pad_value_raw", z_out))
    return g
