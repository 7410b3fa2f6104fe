"""Per-node work and size counts (MACs, output elements, weight bytes), shared by
`tinycnn info`, the report and firmware_sim's cycle model."""
from __future__ import annotations

import numpy as np

from tinycnn.ir import Graph, Node, Op


def node_macs(graph: Graph, node: Node) -> int:
    """Multiply-accumulates per sample (binary ops: XNOR-popcount bit operations,
    stored by the binarizer as attrs['macs'])."""
    if "macs" in node.attrs:
        return int(node.attrs["macs"])
    out = graph.tensors[node.outputs[0]].shape
    out_elems = int(np.prod(out[1:]))
    if node.op == Op.CONV_2D:
        return out_elems * int(np.prod(graph.tensors[node.inputs[1]].shape[1:]))
    if node.op == Op.DEPTHWISE_CONV_2D:
        w = graph.tensors[node.inputs[1]]
        return out_elems * int(w.shape[0] * w.shape[1])
    if node.op == Op.FULLY_CONNECTED:
        return int(np.prod(graph.tensors[node.inputs[1]].shape))
    if node.op == Op.TRANSPOSE_CONV:  # every input pixel x every weight
        x_hw = graph.tensors[node.inputs[0]].shape[1:3]
        return int(np.prod(x_hw)) * int(np.prod(graph.tensors[node.inputs[1]].shape))
    if node.op in (Op.MAX_POOL_2D, Op.AVERAGE_POOL_2D):
        kh, kw = node.attrs["kernel"]
        return out_elems * kh * kw
    if node.op == Op.MEAN:
        return int(np.prod(graph.tensors[node.inputs[0]].shape[1:]))
    return out_elems


def node_weight_bytes(graph: Graph, node: Node) -> int:
    total = sum(graph.tensors[i].data.nbytes for i in node.inputs if i and graph.tensors[i].is_const)
    return int(total + sum(v.nbytes for v in node.params.values()))


def node_params(graph: Graph, node: Node) -> int:
    """Logical parameter count (a packed binary weight counts its bits, set as attrs['params'])."""
    if "params" in node.attrs:
        return int(node.attrs["params"])
    return int(sum(graph.tensors[i].data.size for i in node.inputs if i and graph.tensors[i].is_const))


def tensor_bytes(graph: Graph, name: str, batch: int = 1) -> int:
    t = graph.tensors[name]
    return int(np.prod(t.concrete_shape(batch))) * np.dtype(t.dtype).itemsize
