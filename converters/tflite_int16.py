"""int16x8 TFLite graphs (16-bit activations, 8-bit weights: the TF converter's
``EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8``) mapped onto tinycnn's own 16x8
scheme (tinycnn/quant/int16x8.py, tinycnn/kernels/int16.py, ``kernel_variant = "int16x8"``).

The file's scales and zero points are kept (int16 zero point 0, symmetric int8 weights, int64
or int32 biases, stored as int64); the integer parameters are TFLite Micro's:
- CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV: int64 accumulator, TFLite's int64
  MultiplyByQuantizedMultiplier (prepare_weighted's per-channel multipliers);
- ADD, SUB: add.cc's int16 path (left_shift 15);
- MEAN: QuantizedMeanOrSum's multiplier (as for int8, tflite_quant.py), int16 clamp;
- CONCATENATION copies raw values (TFLM does not requantize), PAD pads with zero;
- LEAKY_RELU: QuantizeLeakyRelu (identity / alpha multipliers, tflite_gemmlowp.leaky_relu_multipliers);
- LOGISTIC, TANH: TFLite's int16 LUT algorithm (input multiplier / left shift as TFLM's prepare);
- MAX_POOL_2D, AVERAGE_POOL_2D, RESHAPE, TRANSPOSE, RESIZE_NEAREST_NEIGHBOR: the dtype-generic
  kernels with int16 limits;
- QUANTIZE int16 <-> int16 / int8 inside the graph: the 16x8 REQUANTIZE.
Any other op touching an int16 tensor is refused in one line naming the file, op and the list
above. ``finish_int16x8`` runs before tflite_quant.finish_quantized (which prepares the rest).
"""
from __future__ import annotations

import numpy as np

from tinycnn.errors import TinyCNNError
from tinycnn.ir import Op
from tinycnn.quant.int16x8 import VARIANT, VARIANT_OPS, WEIGHTED, _prepare_add_sub_16
from tinycnn.reference.tflite_gemmlowp import leaky_relu_multipliers

SUPPORTED_16X8 = {
    Op.CONV_2D: "CONV_2D", Op.DEPTHWISE_CONV_2D: "DEPTHWISE_CONV_2D", Op.FULLY_CONNECTED: "FULLY_CONNECTED",
    Op.ADD: "ADD", Op.SUB: "SUB", Op.MEAN: "MEAN", Op.CONCATENATION: "CONCATENATION",
    Op.MAX_POOL_2D: "MAX_POOL_2D", Op.AVERAGE_POOL_2D: "AVERAGE_POOL_2D", Op.RESHAPE: "RESHAPE/SQUEEZE",
    Op.PAD: "PAD", Op.TRANSPOSE: "TRANSPOSE", Op.RESIZE_NEAREST: "RESIZE_NEAREST_NEIGHBOR",
    Op.REQUANTIZE: "QUANTIZE", Op.LEAKY_RELU: "LEAKY_RELU", Op.SIGMOID: "LOGISTIC", Op.TANH: "TANH",
    Op.TRANSPOSE_CONV: "TRANSPOSE_CONV",
}
WEIGHTED_16 = WEIGHTED | {Op.TRANSPOSE_CONV}
LUT_16 = {Op.SIGMOID: 0, Op.TANH: 1}  # TFLM: the power-of-two input scale case allows left shifts <= this


def has_int16(graph, node) -> bool:
    return any(name and graph.tensors[name].dtype == "int16" and not graph.tensors[name].is_const
               for name in list(node.inputs) + list(node.outputs))


def _refuse(imp, node, reason):
    ops = ", ".join(sorted(set(SUPPORTED_16X8.values())))
    raise TinyCNNError(f"{imp.path}: node '{node.attrs.get('source_name', node.name)}' (op "
                       f"{node.attrs.get('tflite_op', node.op.value)}): {reason}; int16x8 (16-bit "
                       f"activation) models support {ops}")


def check_int16x8(imp):
    """Refuse (one line) every op with an int16 tensor that the 16x8 kernels cannot run."""
    g = imp.graph
    for node in g.nodes:
        if not has_int16(g, node):
            continue
        if node.op not in SUPPORTED_16X8:
            _refuse(imp, node, "not supported with int16 activations")
        for name in list(node.inputs[:1]) + list(node.outputs):
            t = g.tensors[name]
            if t.dtype == "int16" and t.quant is not None and np.any(t.quant.zero_point != 0):
                _refuse(imp, node, f"int16 tensor '{name}' has zero point "
                                   f"{int(t.quant.zero_point.reshape(-1)[0])} (the 16x8 spec needs 0)")
        if node.op in WEIGHTED_16 and g.tensors[node.inputs[0]].dtype != "int16":
            _refuse(imp, node, f"input dtype {g.tensors[node.inputs[0]].dtype} with an int16 output")


def finish_int16x8(imp):
    """Mark the 16x8 nodes (after finish_quantized prepared every node with the int8 formulas):
    kernel variant, output dtype, int64 bias, int16 ADD/SUB parameters."""
    g = imp.graph
    for node in g.nodes:
        if not has_int16(g, node):
            continue
        node.attrs["output_dtype"] = g.tensors[node.outputs[0]].dtype
        if node.op in VARIANT_OPS or node.op in WEIGHTED_16 or node.op == Op.LEAKY_RELU or node.op in LUT_16:
            node.attrs["kernel_variant"] = VARIANT
        if node.op in WEIGHTED_16:
            bias = g.tensors[node.inputs[2]]
            if bias.dtype != "int64":
                bias.data = np.ascontiguousarray(bias.data.astype(np.int64))
                bias.dtype = "int64"
        elif node.op in (Op.ADD, Op.SUB):
            _prepare_add_sub_16(g, node)
        elif node.op == Op.LEAKY_RELU:
            _prepare_leaky_relu_16(g, node)
        elif node.op in LUT_16:
            _prepare_sigmoid_tanh_16(imp, node)
    g.meta["int16x8_layers"] = sorted(n.name for n in g.nodes if n.op in WEIGHTED_16 and has_int16(g, n))


def _prepare_leaky_relu_16(g, node):
    """TFLM leaky_relu.cc: identity and alpha multipliers from float32 scale products."""
    qi, qo = g.tensors[node.inputs[0]].quant, g.tensors[node.outputs[0]].quant
    m1, s1, m2, s2 = leaky_relu_multipliers(qi.scale[0], qo.scale[0], node.attrs["alpha"])
    node.attrs.update(input_offset=-int(qi.zero_point[0]), output_offset=int(qo.zero_point[0]),
                      output_multiplier_1=m1, output_shift_1=s1, output_multiplier_2=m2, output_shift_2=s2)


def _checked_log2(x):
    """TFLite CheckedLog2 (float32): (rounded log2, whether x is a power of two within 1e-3)."""
    v = np.float32(np.log(np.float32(x))) * np.float32(1.0 / np.log(np.float32(2.0)))
    r = np.float32(np.round(v))
    return int(r), bool(abs(v - r) < np.float32(1e-3))


def _prepare_sigmoid_tanh_16(imp, node):
    """TFLM logistic_common.cc / tanh_common.cc int16: input rescaled to 1/(3*4096) by a
    15-bit multiplier and a left shift (multiplier 0: power-of-two scale), output scale 2^-15."""
    g = imp.graph
    s_in = float(np.float32(g.tensors[node.inputs[0]].quant.scale[0]))
    out_log2, out_pot = _checked_log2(g.tensors[node.outputs[0]].quant.scale[0])
    if not out_pot or out_log2 != -15:
        _refuse(imp, node, "an int16 LOGISTIC/TANH output scale must be 2^-15 (TFLite)")
    in_log2, pot = _checked_log2(s_in)
    shift = 12 + in_log2
    if pot and 0 <= shift <= LUT_16[node.op]:
        mult = 0
    else:
        m, shift = s_in * 4096.0 * 3.0, 0
        while m <= 32767.0 / 2.0 and shift <= 30:
            shift, m = shift + 1, m * 2.0
        mult = int(m)
        if mult > 32767:
            _refuse(imp, node, f"input scale {s_in:g} is too large for the int16 LUT algorithm (TFLite "
                               "needs input_scale * 3 * 4096 <= 32767)")
    node.attrs.update(input_multiplier=mult, input_left_shift=shift)
