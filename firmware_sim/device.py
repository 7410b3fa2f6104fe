"""Run a blob as a microcontroller would: every activation and scratch buffer is a view into ONE
arena (a uint8 array) at its planned offset, bound to the same kernels as the CPU runtime.

A planning bug (two live buffers overlapping) corrupts the result, so comparing with the CPU
runtime (``tinycnn.runtime.Model``) bit for bit checks the plan as well as the run.
"""
from __future__ import annotations

import copy

import numpy as np

from firmware_sim.memory_plan import MemoryPlan, plan_graph, search_order
from tinycnn.errors import BudgetExceededError, TinyCNNError
from tinycnn.ir import Graph
from tinycnn.runtime import ExecutionPlan

ARENA_FILL = 0xA5  # a recognizable garbage pattern: a kernel reading unwritten bytes sees it


class _KeyedRequests:
    """Names requests; a repeated name (two scratch areas of one node) gets '#k' appended."""

    def __init__(self):
        self.seen = {}

    def key(self, name):
        k = self.seen.get(name, 0)
        self.seen[name] = k + 1
        return name if k == 0 else f"{name}#{k}"


def buffer_sizes(graph: Graph) -> dict:
    """Bytes of every activation and scratch buffer the runtime allocates at batch 1 (a dry
    ExecutionPlan with a recording allocator; kernels are bound but never run)."""
    sizes, keys = {}, _KeyedRequests()

    def record(name, shape, dtype):
        sizes[keys.key(name)] = int(np.prod(shape)) * np.dtype(dtype).itemsize
        return np.zeros(shape, dtype)

    ExecutionPlan(graph, 1, allocate=record, device=True)
    return sizes


class Device:
    """A graph bound to views of one arena according to a MemoryPlan."""

    def __init__(self, graph: Graph, plan: MemoryPlan):
        self.graph = copy.copy(graph)
        by_name = {n.name: n for n in graph.nodes}
        self.graph.nodes = [by_name[name] for name in plan.order]
        self.memory_plan = plan
        self.arena = np.full(plan.arena_bytes, ARENA_FILL, np.uint8)
        keys = _KeyedRequests()

        def allocate(name, shape, dtype):
            key = keys.key(name)
            nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
            if key not in plan.offsets:
                raise TinyCNNError(f"arena plan has no buffer for '{key}'")
            off = plan.offsets[key]
            if off + nbytes > plan.arena_bytes:
                raise TinyCNNError(f"buffer '{key}' at offset {off} ({nbytes} B) exceeds the arena")
            return self.arena[off:off + nbytes].view(dtype).reshape(shape)

        self.plan = ExecutionPlan(self.graph, 1, allocate=allocate, device=True)

    def run_quantized(self, inputs_q: list) -> list:
        """Quantized NHWC inputs (any batch; run one sample at a time) -> quantized outputs."""
        outs = [[] for _ in self.graph.outputs]
        for k in range(len(inputs_q[0])):
            for name, x in zip(self.graph.inputs, inputs_q):
                np.copyto(self.plan.buffers[name], x[k:k + 1])
            self.plan.run()
            for j, name in enumerate(self.graph.outputs):
                outs[j].append(self.plan.buffers[name].copy())
        return [np.concatenate(o) for o in outs]


def plan_memory(graph: Graph, in_place=True, order_search=True) -> MemoryPlan:
    """Arena plan for a graph at batch 1 (op-order search on branched graphs if asked)."""
    sizes = buffer_sizes(graph)
    if order_search:
        return search_order(graph, sizes, in_place=in_place)
    return plan_graph(graph, sizes, in_place=in_place)


def _kib(n) -> str:
    return f"{n / 1024:.1f} KiB"


def check_budgets(plan: MemoryPlan, flash_bytes: int, flash_detail: str, target, labels=None) -> None:
    """Raise BudgetExceededError naming how much is needed, where it peaks and what fits."""
    problems = []
    if plan.arena_bytes > target.sram_bytes:
        layer = plan.order[plan.peak_step] if plan.order else "(input)"
        layer = (labels or {}).get(layer, layer)  # the name the layer tables show
        problems.append(f"needs {_kib(plan.arena_bytes)} SRAM at layer {layer}; {target.name} has "
                        f"{_kib(target.sram_bytes)} (over by {_kib(plan.arena_bytes - target.sram_bytes)})")
    if flash_bytes > target.flash_bytes:
        problems.append(f"needs {_kib(flash_bytes)} flash ({flash_detail}); {target.name} has "
                        f"{_kib(target.flash_bytes)} (over by {_kib(flash_bytes - target.flash_bytes)})")
    if problems:
        raise BudgetExceededError("model does not fit: " + "; ".join(problems))
