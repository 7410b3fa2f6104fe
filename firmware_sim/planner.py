"""Arena planning: buffer lifetimes -> byte offsets in one arena.

The core (``plan_offsets``) is TFLite Micro's greedy memory planner
(tensorflow/lite/micro/memory_planner/greedy_memory_planner.cc): buffers sorted by size,
largest first, each placed at the lowest offset where it overlaps no already-placed buffer
whose lifetime [first_use, last_use] intersects its own. Because greedy-by-size is a heuristic,
a second order (by first use, which is optimal on chains) is also tried and the smaller arena
kept. ``plan_graph`` (firmware_sim.graph_plan) builds the buffers from a graph.
"""
from __future__ import annotations

from dataclasses import dataclass

ALIGNMENT = 16  # bytes; TFLM aligns every planned buffer to 16


@dataclass
class Buffer:
    name: str
    size: int  # bytes
    first_use: int  # step index (inclusive)
    last_use: int  # step index (inclusive)
    kind: str = "tensor"  # or "scratch" (lives during one op only)

    def overlaps_in_time(self, other: "Buffer") -> bool:
        return self.first_use <= other.last_use and other.first_use <= self.last_use


def align_up(n: int, alignment: int = ALIGNMENT) -> int:
    return -(-int(n) // alignment) * alignment


def _first_fit(order: list, alignment: int) -> dict:
    placed = []  # (offset, buffer)
    offsets = {}
    for buf in order:
        candidate = 0
        for off, other in sorted((p for p in placed if p[1].overlaps_in_time(buf)), key=lambda p: p[0]):
            if candidate + buf.size <= off:
                break  # fits in the gap before `other`
            candidate = max(candidate, align_up(off + other.size, alignment))
        offsets[buf.name] = candidate
        placed.append((candidate, buf))
    return offsets


def _two_ended(buffers: list, alignment: int) -> dict | None:
    """On a chain (at most two non-scratch buffers live at once) alternate tensors between the
    bottom and top of the arena: reaches the max over steps of live bytes. None if not a chain."""
    steps = max(b.last_use for b in buffers) + 1
    tensors = sorted((b for b in buffers if b.kind != "scratch"), key=lambda b: (b.first_use, b.last_use))
    short = [b for b in buffers if b.kind == "scratch"]
    for s in range(steps):
        if sum(1 for b in tensors if b.first_use <= s <= b.last_use) > 2:
            return None
    live = [sum(align_up(b.size, alignment) for b in buffers if b.first_use <= s <= b.last_use)
            for s in range(steps)]
    top = max(live)
    offsets = {}
    for k, b in enumerate(tensors):
        offsets[b.name] = 0 if k % 2 == 0 else top - align_up(b.size, alignment)
    low = {}
    for b in short:  # scratch: above the bottom tensor of its step (below the top one)
        start = low.get(b.first_use, max((align_up(t.size, alignment) for t in tensors
                                          if t.overlaps_in_time(b) and offsets[t.name] == 0), default=0))
        offsets[b.name] = start
        low[b.first_use] = align_up(start + b.size, alignment)
    return offsets if valid_plan(buffers, offsets) else None


def arena_size(buffers: list, offsets: dict, alignment: int = ALIGNMENT) -> int:
    return align_up(max((offsets[b.name] + b.size for b in buffers), default=0), alignment)


def valid_plan(buffers: list, offsets: dict) -> bool:
    """No two buffers that are live at the same step share a byte."""
    for i, a in enumerate(buffers):
        for b in buffers[i + 1:]:
            if a.size and b.size and a.overlaps_in_time(b):
                oa, ob = offsets[a.name], offsets[b.name]
                if oa < ob + b.size and ob < oa + a.size:
                    return False
    return True


def plan_offsets(buffers: list, alignment: int = ALIGNMENT) -> tuple:
    """Offsets for every buffer and the arena size: (dict name -> offset, arena_bytes)."""
    if not buffers:
        return {}, 0
    by_size = sorted(buffers, key=lambda b: (-b.size, b.first_use, b.name))
    by_first = sorted(buffers, key=lambda b: (b.first_use, -b.size, b.name))
    candidates = [_first_fit(by_size, alignment), _first_fit(by_first, alignment)]
    chain = _two_ended(buffers, alignment)
    if chain is not None:
        candidates.append(chain)
    best = min(candidates, key=lambda o: arena_size(buffers, o, alignment))
    return best, arena_size(buffers, best, alignment)


def live_bytes(buffers: list, steps: int, alignment: int = ALIGNMENT) -> list:
    """Sum of (aligned) live buffer sizes at each step."""
    out = [0] * steps
    for b in buffers:
        for s in range(b.first_use, b.last_use + 1):
            out[s] += align_up(b.size, alignment)
    return out
