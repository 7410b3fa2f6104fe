"""TFLite's 16x8 scheme on chosen layers of an int8 (or mixed int8 / 1-bit) graph.

``widen_int16x8(qg, fg, obs, layers)`` takes the graph ``quantize_int8`` / ``quantize_binary``
made from the float graph ``fg`` and moves the weighted layers named in ``layers`` (and the ops
that follow them, where a 16x8 kernel exists) to int16 activations:

- int16 activations are symmetric, zero point 0, scale = max|range| / 32767 from the min/max
  calibration range (pools, reshape, pad, transpose, resize share their input's scale, as in
  int8);
- weights stay int8 symmetric (per channel or per tensor as configured); biases become int64 at
  input_scale * weight_scale;
- ops with a 16x8 kernel: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED (chosen per layer), and,
  following an int16 input: ADD, SUB, MEAN, CONCATENATION, MAX/AVERAGE_POOL_2D, RESHAPE, PAD,
  TRANSPOSE, RESIZE_NEAREST. Everything else (LUT activations, softmax, binary layers, MUL ...)
  stays int8;
- where a tensor crosses domains a REQUANTIZE node (int8 -> int16 or int16 -> int8) is
  inserted; the int8 side keeps the tensor's int8 parameters, so the int8 ops' prepared fields
  stay valid.
Nodes of the 16x8 domain carry ``kernel_variant = "int16x8"`` where their arithmetic differs from
int8 (tinycnn/kernels/int16.py, tinycnn/reference/int16_ops.py) and ``output_dtype``.
"""
from __future__ import annotations

import numpy as np

from tinycnn.fixedpoint import quantize_multiplier
from tinycnn.ir import Graph, Node, Op, QuantParams
from tinycnn.quant.calibrate import RangeObserver
from tinycnn.quant.prepare import activation_range, prepare_node

VARIANT = "int16x8"
WEIGHTED = {Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.FULLY_CONNECTED}
FOLLOWERS = {Op.ADD, Op.SUB, Op.MEAN, Op.CONCATENATION, Op.MAX_POOL_2D, Op.AVERAGE_POOL_2D,
             Op.RESHAPE, Op.PAD, Op.TRANSPOSE, Op.RESIZE_NEAREST}
SAME_AS_INPUT = {Op.MAX_POOL_2D, Op.AVERAGE_POOL_2D, Op.RESHAPE, Op.PAD, Op.TRANSPOSE, Op.RESIZE_NEAREST}
VARIANT_OPS = WEIGHTED | {Op.ADD, Op.SUB, Op.MEAN, Op.CONCATENATION, Op.REQUANTIZE}
INT16_MAX = 32767


def wideable_layers(graph: Graph) -> list:
    """Names of the layers that can take 16x8 (int8 conv / depthwise / fully connected)."""
    return [n.name for n in graph.nodes if _can_widen(n)]


def _can_widen(node) -> bool:
    return (node.op in WEIGHTED and node.attrs.get("output_mode") != "packed"
            and node.attrs.get("kernel_variant") is None)


def symmetric_int16_qparams(lo: float, hi: float) -> QuantParams:
    amax = max(abs(float(lo)), abs(float(hi)))
    return QuantParams(np.float32(amax / INT16_MAX if amax > 0 else 1.0 / INT16_MAX), np.int32(0))


def _domains(qg: Graph, layers: set) -> set:
    """Names of the tensors that are int16."""
    wide_nodes = {n.name for n in qg.nodes if n.name in layers and _can_widen(n)}
    wide = {t for t in qg.inputs
            if qg.consumers(t) and all(c.name in wide_nodes for c in qg.consumers(t))}
    for node in qg.nodes:
        acts = qg.activation_inputs(node)
        if node.name in wide_nodes or (node.op in FOLLOWERS and acts and acts[0] in wide
                                       and qg.tensors[node.outputs[0]].dtype == "int8"):
            wide.add(node.outputs[0])
    return wide


def widen_int16x8(qg: Graph, fg: Graph, obs: RangeObserver, layers) -> Graph:
    """Return a copy of ``qg`` with ``layers`` (node names) in 16x8; see the module doc."""
    qg = qg.copy()
    layers = set(layers)
    wide = _domains(qg, layers)
    if not wide:
        return qg
    int8_q = {name: qg.tensors[name].quant for name in wide}
    q16 = {}
    for name in qg.inputs:
        if name in wide:
            q16[name] = symmetric_int16_qparams(*obs.range(name, "minmax"))
    for node in qg.nodes:
        out = node.outputs[0]
        if out not in wide:
            continue
        if node.op in SAME_AS_INPUT:
            q16[out] = q16[node.inputs[0]]
        else:
            q16[out] = symmetric_int16_qparams(*obs.range(out, "minmax"))
    for name in wide:
        qg.tensors[name].dtype = "int16"
        qg.tensors[name].quant = q16[name]
    fnodes = {n.name: n for n in fg.nodes}
    converted, nodes = {}, []
    for node in qg.nodes:
        is_wide = node.outputs[0] in wide
        for k, name in enumerate(node.inputs):
            if not name or qg.tensors[name].is_const or (name in wide) == is_wide:
                continue
            key = (name, is_wide)
            if key not in converted:
                converted[key] = _conversion(qg, name, is_wide, q16, int8_q, obs, nodes)
            node.inputs[k] = converted[key]
        if is_wide:
            _prepare_wide(qg, node, fnodes.get(node.name), fg)
        nodes.append(node)
    qg.nodes = nodes
    qg.meta["int16x8_layers"] = sorted(n.name for n in nodes if n.outputs[0] in wide and n.op in WEIGHTED)
    qg.remove_unused_tensors()
    return qg


def _conversion(qg, name, to_int16, q16, int8_q, obs, nodes) -> str:
    """Insert REQUANTIZE name -> int16 (or -> int8) and return the converted tensor's name."""
    src = qg.tensors[name]
    dtype = "int16" if to_int16 else "int8"
    new = qg.unique_name(f"{name}/{dtype}")
    if to_int16:
        quant = q16.get(name) or symmetric_int16_qparams(*obs.range(name, "minmax"))
    else:
        quant = int8_q[name]
    qg.add_tensor(new, src.shape, dtype, quant=quant)
    node = Node(qg.unique_name(f"{name}/to_{dtype}"), Op.REQUANTIZE, [name], [new],
                {"kernel_variant": VARIANT, "output_dtype": dtype, "source_name": f"{name} ({dtype})"})
    prepare_node(qg, node)
    nodes.append(node)
    return new


def _prepare_wide(qg, node, fnode, fg):
    node.attrs["output_dtype"] = "int16"
    if node.op in VARIANT_OPS:
        node.attrs["kernel_variant"] = VARIANT
    if node.op in WEIGHTED:
        _int64_bias(qg, node, fnode, fg)
    prepare_node(qg, node)
    if node.op in (Op.ADD, Op.SUB):
        _prepare_add_sub_16(qg, node)


def _int64_bias(qg, node, fnode, fg):
    x, w = node.inputs[0], node.inputs[1]
    cout = qg.tensors[node.outputs[0]].shape[-1]
    in_scale = float(qg.tensors[x].quant.scale[0])
    w_scale = np.broadcast_to(qg.tensors[w].quant.scale.astype(np.float64), (cout,))
    bias_scale = in_scale * w_scale
    b = np.zeros(cout)
    if fnode is not None and len(fnode.inputs) > 2 and fnode.inputs[2]:
        b = fg.tensors[fnode.inputs[2]].data.astype(np.float64)
    bq = np.clip(np.round(b / bias_scale), -2**47, 2**47 - 1).astype(np.int64)
    name = qg.unique_name((node.inputs[2] if len(node.inputs) > 2 and node.inputs[2] else node.name) + "/int64")
    qg.add_tensor(name, (cout,), "int64", bq,
                  QuantParams(bias_scale.astype(np.float32), np.zeros(cout, np.int32), 0))
    node.inputs = [x, w, name]


def _prepare_add_sub_16(qg, node):
    """TFLM add.cc for int16: left_shift 15 instead of 20, int16 clamp limits."""
    (a, b), out = node.inputs, node.outputs[0]
    sa, sb = float(qg.tensors[a].quant.scale[0]), float(qg.tensors[b].quant.scale[0])
    so = float(qg.tensors[out].quant.scale[0])
    left_shift, twice_max = 15, 2 * max(sa, sb)
    m1, s1 = quantize_multiplier(sa / twice_max)
    m2, s2 = quantize_multiplier(sb / twice_max)
    mo, so_ = quantize_multiplier(twice_max / ((1 << left_shift) * so))
    amin, amax = activation_range(qg, node, out)
    node.attrs.update(left_shift=left_shift, input1_multiplier=m1, input1_shift=s1, input2_multiplier=m2,
                      input2_shift=s2, output_multiplier=mo, output_shift=so_, act_min=amin, act_max=amax)
