"""Arena planner: the core on random lifetimes (chains reach the lower bound, no two live buffers
overlap, never above the naive sum), and the graph planner on real converted graphs."""
from __future__ import annotations

import random

import numpy as np
import pytest

from firmware_sim.device import buffer_sizes, plan_memory
from tests.firmware_sim_models import converted  # noqa: F401 (fixture)
from firmware_sim.memory_plan import depthwise_overlap_offset, is_branched, plan_graph
from firmware_sim.planner import Buffer, align_up, plan_offsets, valid_plan
from tinycnn.ir import ALIAS_OPS, Op
from tinycnn.kernels.conv import depthwise_conv_2d_s8


def _overlaps(bufs, offsets):
    bad = []
    for i, a in enumerate(bufs):
        for b in bufs[i + 1:]:
            if a.size and b.size and a.first_use <= b.last_use and b.first_use <= a.last_use:
                oa, ob = offsets[a.name], offsets[b.name]
                if oa < ob + b.size and ob < oa + a.size:
                    bad.append((a.name, b.name))
    return bad


@pytest.mark.parametrize("seed", range(300))
def test_chain_peak_is_max_of_input_output_scratch(seed):
    rng = random.Random(seed)
    n = rng.randint(1, 9)
    align = rng.choice([1, 16])
    sizes = [rng.randint(1, 4000) for _ in range(n + 1)]
    scratch = [rng.choice([0, 0, rng.randint(1, 900)]) for _ in range(n)]
    bufs = [Buffer(f"t{k}", sizes[k], max(k - 1, 0), min(k, n - 1)) for k in range(n + 1)]
    bufs += [Buffer(f"s{k}", scratch[k], k, k, "scratch") for k in range(n) if scratch[k]]
    offsets, arena = plan_offsets(bufs, align)
    bound = max(align_up(sizes[k], align) + align_up(sizes[k + 1], align) + align_up(scratch[k], align)
                for k in range(n))
    assert arena == bound
    assert not _overlaps(bufs, offsets)
    assert all(off % align == 0 for off in offsets.values())


@pytest.mark.parametrize("seed", range(300))
def test_random_lifetimes_never_overlap_and_never_exceed_naive_sum(seed):
    rng = random.Random(1000 + seed)
    steps = rng.randint(1, 20)
    bufs = []
    for k in range(rng.randint(1, 30)):
        a = rng.randrange(steps)
        b = rng.randrange(a, min(steps, a + rng.randint(1, 8)))
        bufs.append(Buffer(f"b{k}", rng.choice([0, rng.randint(1, 5000)]), a, b))
    offsets, arena = plan_offsets(bufs, 16)
    assert not _overlaps(bufs, offsets) and valid_plan(bufs, offsets)
    assert arena <= sum(align_up(b.size) for b in bufs)
    # never below the largest set of simultaneously live bytes (a lower bound)
    assert arena >= max(sum(b.size for b in bufs if b.first_use <= s <= b.last_use) for s in range(steps))


@pytest.mark.parametrize("geom", [
    dict(k=3, stride=1, pad=1, hw=(7, 6), c=8),
    dict(k=3, stride=2, pad=1, hw=(8, 8), c=16),
    dict(k=5, stride=1, pad=2, hw=(6, 9), c=4),
    dict(k=3, stride=1, pad=0, hw=(6, 6), c=32),
])
def test_depthwise_overlap_offset_is_safe(geom):
    """Run the real kernel with input and output in one buffer at the computed offset (and every
    lower one down to no overlap): equal to the out-of-place result. Full overlap (offset 0)
    corrupts it for stride 1 with padding (the window reaches back), so the offset matters."""
    rng = np.random.default_rng(0)
    (h, w), c, k, s, p = geom["hw"], geom["c"], geom["k"], geom["stride"], geom["pad"]
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    attrs = {"stride": [s, s], "dilation": [1, 1], "pad": [p, p, p, p]}
    x = rng.integers(-128, 128, (1, h, w, c)).astype(np.int8)
    wt = rng.integers(-127, 128, (k, k, c)).astype(np.int8)
    bias = rng.integers(-500, 500, c).astype(np.int32)
    mult = np.full(c, 1 << 30, np.int32)
    shift = np.full(c, -6, np.int32)
    g = np.array([s, s, 1, 1, p, p, 1], np.int64)
    q = np.array([3, -2, -128, 127], np.int64)
    ref = np.zeros((1, oh, ow, c), np.int8)
    depthwise_conv_2d_s8(x, wt, bias, mult, shift, g, q, np.zeros((ow, c), np.int32), ref)
    delta = depthwise_overlap_offset(x.shape, ref.shape, (k, k), attrs)

    def run_at(d):
        lo = min(0, d)
        buf = np.zeros(max(x.size, d + ref.size) - lo, np.int8)
        xin = buf[-lo:-lo + x.size].reshape(x.shape)
        xin[:] = x
        out = buf[d - lo:d - lo + ref.size].reshape(ref.shape)
        depthwise_conv_2d_s8(xin, wt, bias, mult, shift, g, q, np.zeros((ow, c), np.int32), out)
        return out.copy()

    assert delta <= 0
    for d in sorted({delta, delta - 1, delta - c, delta - 7 * c, -ref.size}):
        np.testing.assert_array_equal(run_at(d), ref)
    if p and s == 1:
        assert not np.array_equal(run_at(0), ref)


# ---------------- real graphs ----------------

def _tensor_overlaps(plan, graph):
    """Pairs of simultaneously live buffers sharing bytes, except declared sharing."""
    order = {name: i for i, name in enumerate(plan.order)}
    first, last = {}, {}
    nodes = {n.name: n for n in graph.nodes}
    for t in graph.inputs:
        first[t], last[t] = 0, 0
    for name in plan.order:
        n, i = nodes[name], order[name]
        first[n.outputs[0]] = last[n.outputs[0]] = i
        for t in graph.activation_inputs(n):
            last[t] = max(last[t], i)
    for t in graph.outputs:
        last[t] = len(plan.order) - 1
    for key in plan.sizes:
        if "::" in key:
            first[key] = last[key] = order[key.split("::")[0]]
    bufs = [Buffer(k, plan.sizes[k], first[k], last[k]) for k in plan.sizes]
    shared = {frozenset((a, b[0])) for a, b in plan.shared.items()}
    return [p for p in _overlaps(bufs, plan.offsets) if frozenset(p) not in shared]


def test_real_graphs_valid_and_below_naive(converted):
    for name, (blob, graph) in converted.items():
        for in_place in (True, False):
            plan = plan_memory(graph, in_place=in_place)
            assert valid_plan(plan.blocks, plan.block_offsets), name
            assert plan.arena_bytes <= plan.naive_bytes, name
            assert plan.arena_bytes >= max(plan.live_bytes), name
            assert not _tensor_overlaps(plan, graph), (name, in_place)
            if not in_place:
                assert {how for _, how in plan.shared.values()} <= {"alias"}


def test_in_place_and_order_search_never_hurt(converted):
    for name, (blob, graph) in converted.items():
        sizes = buffer_sizes(graph)
        plain = plan_graph(graph, sizes, in_place=False)
        assert plan_memory(graph).arena_bytes <= plain.arena_bytes, name


def test_linear_graph_peak_is_max_layer_footprint(converted):
    blob, graph = converted["vgg"]
    assert not is_branched(graph)
    sizes = buffer_sizes(graph)
    plan = plan_graph(graph, sizes, in_place=False)
    bound = 0
    for n in graph.nodes:
        ins = sum(align_up(sizes[t]) for t in graph.activation_inputs(n))
        scratch = sum(align_up(v) for k, v in sizes.items() if k.split("::")[0] == n.name and "::" in k)
        out = 0 if n.op in ALIAS_OPS else align_up(sizes[n.outputs[0]])
        bound = max(bound, ins + out + scratch)
    assert plan.arena_bytes == bound


def test_branched_graph_gets_in_place_add(converted):
    blob, graph = converted["mobilenet_v2"]
    plan = plan_memory(graph)
    hows = {how.split(" (")[0] for _, how in plan.shared.values()}
    assert "in-place" in hows and any(graph.producer(t).op == Op.ADD for t in plan.shared)
    assert plan.arena_bytes < plan_memory(graph, in_place=False).arena_bytes
