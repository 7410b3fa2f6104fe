"""Fold BatchNorm (already reduced to per-channel scale/shift) into the preceding weighted op."""
from __future__ import annotations

import numpy as np

from tinycnn.ir import Op
from tinycnn.passes.common import bypass, sole_consumer


def _foldable_producer(graph, bn):
    prod = graph.producer(bn.inputs[0])
    if prod is None or prod.op not in (Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.FULLY_CONNECTED,
                                       Op.BINARY_CONV_2D, Op.BINARY_FULLY_CONNECTED):
        return None  # (binary weights stay alpha[c] * sign: a per-channel scale keeps that form)
    if prod.attrs.get("clamp") or sole_consumer(graph, bn.inputs[0]) is not bn:
        return None
    return prod


def fold_batch_norm(graph) -> bool:
    changed = False
    for bn in [n for n in graph.nodes if n.op == Op.BATCH_NORM]:
        prod = _foldable_producer(graph, bn)
        if prod is None:
            continue
        scale = graph.tensors[bn.inputs[1]].data.astype(np.float64)
        shift = graph.tensors[bn.inputs[2]].data.astype(np.float64)
        w = graph.tensors[prod.inputs[1]].data.astype(np.float64)
        if prod.op == Op.DEPTHWISE_CONV_2D:
            w = w * scale  # [KH, KW, C]
        else:
            w = w * scale.reshape((-1,) + (1,) * (w.ndim - 1))
        b = (graph.tensors[prod.inputs[2]].data.astype(np.float64)
             if len(prod.inputs) > 2 and prod.inputs[2] else np.zeros(scale.shape))
        b = b * scale + shift
        wname = graph.unique_name(prod.inputs[1] + "_bnfold")
        graph.add_const(wname, w.astype(np.float32))
        bname = graph.unique_name(prod.outputs[0] + "_bias_bnfold")
        graph.add_const(bname, b.astype(np.float32))
        prod.inputs = [prod.inputs[0], wname, bname]
        bypass(graph, bn)
        changed = True
    return changed


def lower_batch_norm(graph) -> None:
    """A BatchNorm that could not be folded becomes a 1x1 depthwise conv (4-D) or a
    fully connected layer with a diagonal weight (2-D)."""
    for bn in [n for n in graph.nodes if n.op == Op.BATCH_NORM]:
        scale = graph.tensors[bn.inputs[1]].data.astype(np.float32)
        shift = graph.tensors[bn.inputs[2]].data.astype(np.float32)
        rank = len(graph.tensors[bn.inputs[0]].shape)
        wname = graph.unique_name(bn.name + "_w")
        if rank == 4:
            graph.add_const(wname, scale.reshape(1, 1, -1))
            bn.op = Op.DEPTHWISE_CONV_2D
            bn.attrs.update({"stride": [1, 1], "dilation": [1, 1], "pad": [0, 0, 0, 0],
                             "depth_multiplier": 1})
        else:
            graph.add_const(wname, np.diag(scale))
            bn.op = Op.FULLY_CONNECTED
        bname = graph.unique_name(bn.name + "_b")
        graph.add_const(bname, shift)
        bn.inputs = [bn.inputs[0], wname, bname]
