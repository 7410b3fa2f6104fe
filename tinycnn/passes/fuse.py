"""Fusions: bias adds into the weighted op, zero pads into conv/pool padding,
clamps (ReLU, ReLU6, Clip) into the producer as its fused activation."""
from __future__ import annotations

import numpy as np

from tinycnn.ir import Op
from tinycnn.passes.common import bypass, sole_consumer

CLAMP_HOSTS = {Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.FULLY_CONNECTED, Op.ADD, Op.SUB, Op.MUL,
               Op.AVERAGE_POOL_2D, Op.MAX_POOL_2D, Op.CLAMP, Op.BINARY_CONV_2D,
               Op.BINARY_FULLY_CONNECTED, Op.TRANSPOSE_CONV}


def _intersect(a, b):
    a = a or [None, None]
    b = b or [None, None]
    lo = [v for v in (a[0], b[0]) if v is not None]
    hi = [v for v in (a[1], b[1]) if v is not None]
    return [max(lo) if lo else None, min(hi) if hi else None]


def fuse_activation(graph) -> bool:
    changed = False
    for node in [n for n in graph.nodes if n.op == Op.CLAMP]:
        prod = graph.producer(node.inputs[0])
        if prod is None or prod.op not in CLAMP_HOSTS:
            continue
        if sole_consumer(graph, node.inputs[0]) is not node:
            continue
        prod.attrs["clamp"] = _intersect(prod.attrs.get("clamp"), node.attrs.get("clamp"))
        graph.replace_tensor_uses(node.outputs[0], prod.outputs[0])
        graph.nodes.remove(node)
        changed = True
    return changed


def fold_bias_add(graph) -> bool:
    changed = False
    for node in [n for n in graph.nodes if n.op == Op.ADD]:
        consts = [i for i in node.inputs if graph.tensors[i].is_const]
        if len(consts) != 1:
            continue
        x = node.inputs[0] if node.inputs[1] == consts[0] else node.inputs[1]
        prod = graph.producer(x)
        if prod is None or prod.op not in (Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.FULLY_CONNECTED):
            continue
        if prod.attrs.get("clamp") or sole_consumer(graph, x) is not node:
            continue
        cout = graph.tensors[x].shape[-1]
        c = graph.tensors[consts[0]].data
        if c.size not in (1, cout) or (c.ndim and c.shape[-1] not in (1, cout)):
            continue
        add = np.broadcast_to(c.reshape(-1), (cout,)).astype(np.float64)
        old = (graph.tensors[prod.inputs[2]].data.astype(np.float64)
               if len(prod.inputs) > 2 and prod.inputs[2] else np.zeros(cout))
        bname = graph.unique_name(prod.outputs[0] + "_bias")
        graph.add_const(bname, (old + add).astype(np.float32))
        prod.inputs = prod.inputs[:2] + [bname]
        node.attrs.pop("source_name", None)
        prod.attrs["clamp"] = node.attrs.get("clamp")
        graph.replace_tensor_uses(node.outputs[0], x)
        graph.nodes.remove(node)
        changed = True
    return changed


def fuse_pad(graph) -> bool:
    """PAD(zeros, spatial only) -> CONV/DEPTHWISE padding; PAD before MAX_POOL is not fused
    (max pool pads with -inf) and before AVERAGE_POOL neither (the count would change)."""
    changed = False
    for node in [n for n in graph.nodes if n.op == Op.PAD]:
        if node.attrs.get("value", 0.0) != 0.0:
            continue
        pads = node.attrs["pads"]
        if len(pads) != 4 or pads[0] != [0, 0] or pads[3] != [0, 0]:
            continue
        user = sole_consumer(graph, node.outputs[0])
        if user is None or user.op not in (Op.CONV_2D, Op.DEPTHWISE_CONV_2D):
            continue
        pt, pl, pb, pr = user.attrs["pad"]
        user.attrs["pad"] = [pt + pads[1][0], pl + pads[2][0], pb + pads[1][1], pr + pads[2][1]]
        bypass(graph, node)
        changed = True
    return changed
