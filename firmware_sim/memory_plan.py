"""A graph's activations and scratch areas -> one arena (offsets, peak, per-layer profile).

Lifetimes come from the op order: a graph input lives from step 0, node i's output from step i
to its last consumer (graph outputs to the end), node i's scratch during step i only.

Memory sharing (each is a *block*: tensors at fixed relative offsets planned as one buffer):
- RESHAPE: the output always aliases its input (same bytes, reinterpreted).
- in-place elementwise (LUT, REQUANTIZE, ADD, SUB, MUL, PRELU, SOFTMAX): the output reuses an
  input of the same shape whose block is not read after this op. Safe because these kernels read
  element i (softmax: row r) before writing element i (row r), and never read it again.
- depthwise conv: the output may overlap the input if no output byte is written before the last
  read of the input byte it overwrites. ``depthwise_overlap_offset`` gives the largest start
  offset of the output relative to the input under a kernel-agnostic assumption: output pixels
  are written in raster order, and pixel p's bytes may be written before any read of pixel p's
  own window (no buffering assumed). tinycnn's kernels buffer more than that (one int32 row of
  accumulators, written after the row's last read; earlier: one pixel), so the bound is safe for
  them and for any raster-order kernel; it costs at most one pixel of slack. For 3x3 stride 1 the
  output starts about one input row plus one pixel below the input.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from firmware_sim.planner import ALIGNMENT, Buffer, align_up, live_bytes, plan_offsets
from tinycnn.ir import ALIAS_OPS, Graph, Op

IN_PLACE_OPS = {Op.LUT, Op.REQUANTIZE, Op.ADD, Op.SUB, Op.MUL, Op.PRELU, Op.SOFTMAX}


@dataclass
class MemoryPlan:
    order: list  # node names, execution order
    offsets: dict  # buffer key (tensor name or "<node>::scratch") -> arena offset
    sizes: dict  # buffer key -> bytes
    arena_bytes: int
    naive_bytes: int  # every activation and scratch in its own buffer
    live_bytes: list  # per step: bytes of live blocks (aligned)
    high_water: list  # per step: highest arena byte used by a live block
    shared: dict  # tensor -> (tensor whose memory it reuses, how)
    blocks: list  # planner.Buffer per block
    block_offsets: dict
    members: dict = field(default_factory=dict)  # block name -> [(key, relative offset)]

    @property
    def peak_step(self) -> int:
        return int(np.argmax(self.high_water)) if self.high_water else 0


def depthwise_overlap_offset(in_shape, out_shape, kernel_hw, attrs) -> int:
    """Largest (most positive) byte offset of the output start relative to the input start
    such that a raster-order depthwise kernel running in place never reads a byte it already
    overwrote (int8 NHWC, batch 1; see the module docstring for the assumption)."""
    _, h, w, cin = in_shape
    _, oh, ow, cout = out_shape
    kh, kw = kernel_hw
    sh, sw = attrs["stride"]
    dh, dw = attrs.get("dilation", [1, 1])
    pt, pl = attrs["pad"][:2]

    def first_valid(o, stride, pad, dil, k, size):
        pos = o * stride - pad + np.arange(k) * dil
        ok = (pos >= 0) & (pos < size)
        return np.where(ok.any(1), np.where(ok, pos, np.iinfo(np.int64).max).min(1), -1)

    iy0 = first_valid(np.arange(oh)[:, None], sh, pt, dh, kh, h)
    ix0 = first_valid(np.arange(ow)[:, None], sw, pl, dw, kw, w)
    big = np.iinfo(np.int64).max // 4
    min_read = np.where((iy0[:, None] >= 0) & (ix0[None, :] >= 0),
                        (iy0[:, None] * w + ix0[None, :]) * cin, big).reshape(-1)
    suffix_min = np.minimum.accumulate(min_read[::-1])[::-1]  # lowest byte read by pixels >= p
    ends = np.arange(1, min_read.size + 1) * cout  # end of output pixel p, relative to the output
    return int(np.min(suffix_min - ends))


class _Blocks:
    """Union of tensors sharing memory: key -> (block name, relative offset)."""

    def __init__(self):
        self.of, self.members = {}, {}

    def new(self, key):
        self.of[key] = (key, 0)
        self.members[key] = [key]

    def join(self, key, other, rel_delta):
        root, rel = self.of[other]
        self.of[key] = (root, rel + rel_delta)
        self.members[root].append(key)


def _lifetimes(graph, nodes, keys):
    steps = len(nodes)
    first = {t: 0 for t in graph.inputs}
    last = {t: 0 for t in graph.inputs}
    for i, n in enumerate(nodes):
        for t in n.outputs:
            first[t] = last[t] = i
        for t in graph.activation_inputs(n):
            last[t] = max(last.get(t, 0), i)
    for t in graph.outputs:
        last[t] = steps - 1
    for key in keys:
        if key not in first:  # scratch "<node>::scratch[#k]"
            step = next(i for i, n in enumerate(nodes) if key.split("::")[0] == n.name)
            first[key] = last[key] = step
    return first, last


def _build_blocks(graph, nodes, sizes, first, last, in_place, alignment):
    blocks, shared = _Blocks(), {}
    for key in sizes:
        if "::" in key or graph.producer(key) is None or key in graph.inputs:
            blocks.new(key)

    def block_last(t):
        return max(last[m] for m in blocks.members[blocks.of[t][0]])

    def block_free_after(t, i):
        root = blocks.of[t][0]
        return block_last(t) == i and not any(m in graph.outputs for m in blocks.members[root])

    for i, n in enumerate(nodes):
        out = n.outputs[0]
        acts = graph.activation_inputs(n)
        t_out = graph.tensors[out]
        if n.op in ALIAS_OPS and acts and sizes[acts[0]] == sizes[out]:
            blocks.join(out, acts[0], 0)
            shared[out] = (acts[0], "alias")
            continue
        if in_place and n.op in IN_PLACE_OPS:
            cand = [t for t in acts if graph.tensors[t].shape == t_out.shape and sizes[t] == sizes[out]
                    and graph.tensors[t].dtype == t_out.dtype and block_free_after(t, i)]
            if cand:
                blocks.join(out, cand[0], 0)
                shared[out] = (cand[0], "in-place")
                continue
        if (in_place == "all" and n.op == Op.DEPTHWISE_CONV_2D and acts and block_free_after(acts[0], i)
                and graph.tensors[acts[0]].dtype == t_out.dtype == "int8"):
            w = graph.tensors[n.inputs[1]].shape
            delta = depthwise_overlap_offset(graph.tensors[acts[0]].concrete_shape(1),
                                             t_out.concrete_shape(1), (w[0], w[1]), n.attrs)
            delta = min(delta, 0)
            delta = (delta // alignment) * alignment  # floor: any smaller offset is also safe
            if -delta < sizes[out]:  # overlapping saves memory
                blocks.join(out, acts[0], delta)
                shared[out] = (acts[0], f"depthwise in-place (output starts {delta} B from input)")
                continue
        blocks.new(out)
    return blocks, shared


IN_PLACE_MODES = ("all", "elementwise", "none")


def plan_graph(graph: Graph, sizes: dict, nodes=None, in_place=True, alignment=ALIGNMENT) -> MemoryPlan:
    """sizes: buffer key -> bytes for every activation and scratch buffer (batch 1).
    in_place: True tries every mode in IN_PLACE_MODES and keeps the smallest arena (sharing a
    block can lengthen a lifetime and so cost more than it saves); False = "none"; or one mode."""
    if in_place is True:
        plans = [plan_graph(graph, sizes, nodes, mode, alignment) for mode in IN_PLACE_MODES]
        return min(plans, key=lambda p: p.arena_bytes)
    in_place = {False: "none"}.get(in_place, in_place)
    if in_place not in IN_PLACE_MODES:
        raise ValueError(f"in_place must be True, False or one of {IN_PLACE_MODES}")
    if in_place == "none":
        in_place = False
    nodes = list(graph.nodes if nodes is None else nodes)
    first, last = _lifetimes(graph, nodes, sizes)
    blocks, shared = _build_blocks(graph, nodes, sizes, first, last, in_place, alignment)
    bufs, members = [], {}
    for root, keys in blocks.members.items():
        lo = min(blocks.of[k][1] for k in keys)
        rel = {k: blocks.of[k][1] - lo for k in keys}
        members[root] = [(k, rel[k]) for k in keys]
        bufs.append(Buffer(root, max(rel[k] + sizes[k] for k in keys), min(first[k] for k in keys),
                           max(last[k] for k in keys), "scratch" if "::" in root else "tensor"))
    block_offsets, arena = plan_offsets(bufs, alignment)
    offsets = {k: block_offsets[root] + rel for root, ks in members.items() for k, rel in ks}
    steps = max(len(nodes), 1)
    high = [0] * steps
    for b in bufs:
        for s in range(b.first_use, b.last_use + 1):
            high[s] = max(high[s], block_offsets[b.name] + b.size)
    naive = sum(align_up(s, alignment) for s in sizes.values())
    return MemoryPlan([n.name for n in nodes], offsets, dict(sizes), arena, naive,
                      live_bytes(bufs, steps, alignment), high, shared, bufs, block_offsets, members)


# ---------------- op-order search ----------------

def is_branched(graph: Graph) -> bool:
    uses = {}
    for n in graph.nodes:
        acts = graph.activation_inputs(n)
        if len(acts) > 1:
            return True
        for t in acts:
            uses[t] = uses.get(t, 0) + 1
    return any(v > 1 for v in uses.values())


def _random_topo(graph, rng, greedy_sizes=None):
    ready_t = set(graph.inputs) | {k for k, t in graph.tensors.items() if t.is_const}
    pending, order = list(graph.nodes), []
    remaining = {}
    for n in graph.nodes:
        for t in graph.activation_inputs(n):
            remaining[t] = remaining.get(t, 0) + 1
    while pending:
        ready = [n for n in pending if all((not i) or i in ready_t for i in n.inputs)]
        if greedy_sizes is not None:  # prefer the op that frees the most / allocates the least
            def net(n):
                freed = sum(greedy_sizes.get(t, 0) for t in set(graph.activation_inputs(n))
                            if remaining[t] == 1 and t not in graph.outputs)
                return greedy_sizes.get(n.outputs[0], 0) - freed
            pick = min(ready, key=net)
        else:
            pick = rng.choice(ready)
        order.append(pick)
        pending.remove(pick)
        ready_t.update(pick.outputs)
        for t in graph.activation_inputs(pick):
            remaining[t] -= 1
    return order


def search_order(graph: Graph, sizes: dict, trials=24, in_place=True, seed=0) -> MemoryPlan:
    """The lowest-arena plan over the graph's own order, a greedy memory-aware order and
    ``trials`` random topological orders (only for branched graphs)."""
    best = plan_graph(graph, sizes, in_place=in_place)
    if not is_branched(graph):
        return best
    rng = random.Random(seed)
    candidates = [_random_topo(graph, rng, greedy_sizes=sizes)]
    candidates += [_random_topo(graph, rng) for _ in range(trials)]
    for order in candidates:
        plan = plan_graph(graph, sizes, nodes=order, in_place=in_place)
        if plan.arena_bytes < best.arena_bytes:
            best = plan
    return best
