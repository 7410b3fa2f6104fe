"""Graph rewrites applied to every imported float graph, in this order.

Each pass takes a Graph, rewrites it in place and returns True if it changed anything;
the list runs until nothing changes."""
from __future__ import annotations

from tinycnn.passes.fold_bn import fold_batch_norm, lower_batch_norm
from tinycnn.passes.fuse import fold_bias_add, fuse_activation, fuse_pad
from tinycnn.passes.hard_swish import fuse_hard_swish
from tinycnn.passes.layout import fold_flatten_into_fc, simplify_layout

PASSES = [fold_batch_norm, fold_bias_add, fuse_pad, fuse_activation, fuse_hard_swish,
          simplify_layout, fold_flatten_into_fc]


def optimize(graph):
    """Run all passes to a fixed point, then lower what is left of BatchNorm."""
    for _ in range(50):
        changed = False
        for p in PASSES:
            changed |= bool(p(graph))
        if not changed:
            break
    lower_batch_norm(graph)
    graph.remove_unused_tensors()
    return graph
