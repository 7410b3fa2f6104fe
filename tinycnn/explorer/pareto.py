"""Pareto front: the points no other point dominates.

A point dominates another if it is at least as good in every objective and strictly better in
one. Objectives are given as (key, "max" | "min"). Equal points do not dominate each other, so
duplicates of a front point are all on the front.
"""
from __future__ import annotations

import math


def dominates(a, b, senses) -> bool:
    """a, b: tuples of objective values; senses: +1 maximize, -1 minimize per value."""
    better = False
    for x, y, s in zip(a, b, senses):
        x, y = s * x, s * y
        if x < y:
            return False
        if x > y:
            better = True
    return better


def pareto_front(rows: list, objectives: list) -> list:
    """Indices of the non-dominated rows (dicts). objectives: [(key, "max" | "min"), ...].
    Rows with a missing or NaN objective are never on the front and dominate nothing."""
    senses = [1 if sense == "max" else -1 for _, sense in objectives]
    points = []
    for r in rows:
        vals = [r.get(k) for k, _ in objectives]
        ok = all(v is not None and not (isinstance(v, float) and math.isnan(v)) for v in vals)
        points.append(tuple(float(v) for v in vals) if ok else None)
    valid = [i for i, p in enumerate(points) if p is not None]
    front = []
    for i in valid:
        if not any(dominates(points[j], points[i], senses) for j in valid if j != i):
            front.append(i)
    return sorted(front)
