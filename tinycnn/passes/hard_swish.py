"""Hard-swish written out in elementary ops, fused into one HARD_SWISH node:

    x * clip(x + 3, 0, 6) / 6        (ADD(x, 3) with a [0, 6] clamp, MUL by x, MUL by 1/6 in
                                      either order; Div by 6 is imported as MUL by 1/6)
    x * HardSigmoid(x)               (HARD_SIGMOID alpha 1/6, beta 0.5 — ONNX's torch export)

The intermediate tensors must have no other readers; every constant must be a scalar (or all
entries equal) within 1e-6 relative of 3, 6 or 1/6."""
from __future__ import annotations

import numpy as np

from tinycnn.ir import Node, Op
from tinycnn.passes.common import sole_consumer


def _scalar(graph, name):
    t = graph.tensors.get(name)
    if t is None or not t.is_const or t.data.size == 0:
        return None
    v = t.data.reshape(-1).astype(np.float64)
    return float(v[0]) if np.all(v == v[0]) else None


def _near(v, target):
    return v is not None and abs(v - target) <= 1e-6 * abs(target)


def _const_operand(graph, node):
    """(activation input, constant value) of a binary op with one scalar constant, else None."""
    a, b = node.inputs
    for act, c in ((a, b), (b, a)):
        v = _scalar(graph, c)
        if v is not None and not graph.tensors[act].is_const:
            return act, v
    return None


def _relu6_of(graph, name):
    """x if `name` is clip(x + 3, 0, 6) (clamp fused into the ADD or a separate CLAMP), else None;
    also returns the nodes that computed it."""
    node = graph.producer(name)
    chain = []
    if node is not None and node.op == Op.CLAMP and node.attrs.get("clamp") == [0.0, 6.0]:
        chain.append(node)
        if sole_consumer(graph, node.inputs[0]) is not node:
            return None, []
        node = graph.producer(node.inputs[0])
        clamp_ok = not (node and node.attrs.get("clamp"))
    else:
        clamp_ok = node is not None and node.attrs.get("clamp") == [0.0, 6.0]
    if node is None or node.op != Op.ADD or not clamp_ok:
        return None, []
    found = _const_operand(graph, node)
    if found is None or not _near(found[1], 3.0):
        return None, []
    return found[0], chain + [node]


def _gate_of(graph, name):
    """(x, scaled, nodes): `name` = relu6(x+3) (scaled=False), relu6(x+3)/6 or hard_sigmoid(x)
    (scaled=True)."""
    node = graph.producer(name)
    if node is None:
        return None, False, []
    if node.op == Op.HARD_SIGMOID and not node.attrs.get("clamp"):
        if _near(node.attrs.get("alpha"), 1 / 6) and _near(node.attrs.get("beta"), 0.5):
            return node.inputs[0], True, [node]
        return None, False, []
    if node.op == Op.MUL and not node.attrs.get("clamp"):
        found = _const_operand(graph, node)
        if found and _near(found[1], 1 / 6) and sole_consumer(graph, found[0]) is node:
            x, chain = _relu6_of(graph, found[0])
            return x, True, [node] + chain
        return None, False, []
    x, chain = _relu6_of(graph, name)
    return x, False, chain


def fuse_hard_swish(graph) -> bool:
    for mul in [n for n in graph.nodes if n.op == Op.MUL and not n.attrs.get("clamp")]:
        a, b = mul.inputs
        for x, gate in ((a, b), (b, a)):
            gx, scaled, chain = _gate_of(graph, gate)
            if gx is None or gx != x or sole_consumer(graph, gate) is not mul:
                continue
            last = mul
            if not scaled:  # (x * relu6(x + 3)) * (1/6)
                nxt = sole_consumer(graph, mul.outputs[0])
                found = _const_operand(graph, nxt) if nxt is not None and nxt.op == Op.MUL else None
                if not found or not _near(found[1], 1 / 6) or nxt.attrs.get("clamp"):
                    continue
                chain, last = chain + [mul], nxt
            else:
                chain = chain + [mul]
            for n in chain:
                if n is not last and any(sole_consumer(graph, o) is None for o in n.outputs):
                    break
            else:
                _replace(graph, chain, last, x)
                return True
    return False


def _replace(graph, chain, last, x):
    idx = graph.nodes.index(last)
    fused = Node(last.name, Op.HARD_SWISH, [x], list(last.outputs),
                 {k: v for k, v in last.attrs.items() if k in ("source_name", "source_op")})
    fused.attrs["fused_from"] = "+".join(sorted({n.attrs.get("source_op", n.op.value) for n in chain + [last]}))
    graph.nodes[idx] = fused
    for n in chain:
        if n is not last and n in graph.nodes:
            graph.nodes.remove(n)
