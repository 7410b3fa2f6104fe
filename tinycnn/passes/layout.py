"""Layout plumbing: transposes that move only unit dimensions are reshapes, consecutive
reshapes merge, identity reshapes vanish, and NHWC→NCHW flattening before a fully connected
layer is folded into that layer's weight order."""
from __future__ import annotations

import numpy as np

from tinycnn.ir import Op
from tinycnn.passes.common import bypass, sole_consumer


def _moves_only_unit_dims(shape, perm):
    non_unit = [i for i in range(len(shape)) if shape[i] != 1]
    order = [p for p in perm if shape[p] != 1]
    return order == non_unit


def simplify_layout(graph) -> bool:
    changed = False
    for node in list(graph.nodes):
        if node not in graph.nodes:
            continue
        t_in = graph.tensors[node.inputs[0]] if node.inputs else None
        if node.op == Op.TRANSPOSE:
            shape = (1,) + t_in.shape[1:]
            # the batch must stay first: with N > 1 it is not a unit dimension
            if node.attrs["perm"][0] == 0 and _moves_only_unit_dims(shape, node.attrs["perm"]):
                node.op = Op.RESHAPE
                node.attrs = {"shape": list(graph.tensors[node.outputs[0]].shape),
                              **{k: v for k, v in node.attrs.items() if k.startswith("source")}}
                changed = True
                continue
            prev = graph.producer(node.inputs[0])
            if (prev is not None and prev.op == Op.TRANSPOSE
                    and sole_consumer(graph, prev.outputs[0]) is node):
                composed = [prev.attrs["perm"][p] for p in node.attrs["perm"]]
                if composed == list(range(len(composed))):
                    graph.replace_tensor_uses(node.outputs[0], prev.inputs[0])
                    graph.nodes.remove(node)
                    graph.nodes.remove(prev)
                    changed = True
        elif node.op == Op.RESHAPE:
            if tuple(graph.tensors[node.outputs[0]].shape) == tuple(t_in.shape) and \
                    node.outputs[0] not in graph.outputs:
                bypass(graph, node)
                changed = True
                continue
            prev = graph.producer(node.inputs[0])
            if (prev is not None and prev.op == Op.RESHAPE
                    and sole_consumer(graph, prev.outputs[0]) is node):
                node.inputs[0] = prev.inputs[0]
                graph.nodes.remove(prev)
                changed = True
    if changed:
        graph.remove_unused_tensors()
    return changed


def fold_flatten_into_fc(graph) -> bool:
    """TRANSPOSE(NHWC->NCHW) -> RESHAPE(flatten) -> FULLY_CONNECTED becomes
    RESHAPE(flatten NHWC) -> FULLY_CONNECTED with its weight columns permuted."""
    changed = False
    for fc in [n for n in graph.nodes if n.op in (Op.FULLY_CONNECTED, Op.BINARY_FULLY_CONNECTED)]:
        rs = graph.producer(fc.inputs[0])
        if rs is None or rs.op != Op.RESHAPE or sole_consumer(graph, rs.outputs[0]) is not fc:
            continue
        tr = graph.producer(rs.inputs[0])
        if (tr is None or tr.op != Op.TRANSPOSE or tr.attrs["perm"] != [0, 3, 1, 2]
                or sole_consumer(graph, tr.outputs[0]) is not rs):
            continue
        if len(graph.tensors[rs.outputs[0]].shape) != 2:  # only a flatten to [N, C*H*W] folds
            continue
        _, h, w, c = graph.tensors[tr.inputs[0]].shape
        wt = graph.tensors[fc.inputs[1]].data  # [Cout, C*H*W] in NCHW order
        wt = wt.reshape(-1, c, h, w).transpose(0, 2, 3, 1).reshape(wt.shape[0], -1)
        wname = graph.unique_name(fc.inputs[1] + "_nhwc")
        graph.add_const(wname, np.ascontiguousarray(wt))
        fc.inputs[1] = wname
        rs.inputs[0] = tr.inputs[0]
        graph.nodes.remove(tr)
        changed = True
    if changed:
        graph.remove_unused_tensors()
    return changed
