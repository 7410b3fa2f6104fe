"""Pareto front: a property test on random point sets against a brute-force dominance check
written here, plus the explorer's flags (failed candidates are never on a front)."""
from __future__ import annotations

import numpy as np

from tinycnn.explorer.pareto import pareto_front
from tinycnn.explorer.report import mark_pareto


def _dominated_by(p, q):
    """q dominates p: accuracy (max) >= and latency, flash (min) <=, one strictly."""
    ge = q[0] >= p[0] and q[1] <= p[1] and q[2] <= p[2]
    return ge and (q[0] > p[0] or q[1] < p[1] or q[2] < p[2])


def test_front_is_exactly_the_non_dominated_points_on_random_sets():
    rng = np.random.default_rng(0)
    objectives = [("acc", "max"), ("ms", "min"), ("flash", "min")]
    for trial in range(400):
        n = int(rng.integers(1, 25))
        hi = 4 if trial % 2 else 1000  # small integer grids make ties and duplicates common
        pts = rng.integers(0, hi, size=(n, 3)).astype(float)
        rows = [{"acc": a, "ms": m, "flash": f} for a, m, f in pts]
        front = set(pareto_front(rows, objectives))
        for i in range(n):
            dominated = any(_dominated_by(pts[i], pts[j]) for j in range(n) if j != i)
            assert (i in front) == (not dominated), (trial, i, pts.tolist(), sorted(front))
        assert front, "a non-empty set always has a non-dominated point"


def test_two_objectives_and_missing_values():
    rows = [{"accuracy": 90.0, "t": 5.0}, {"accuracy": 95.0, "t": 5.0}, {"accuracy": 95.0, "t": 5.0},
            {"accuracy": 80.0, "t": 1.0}, {"accuracy": None, "t": 0.1}, {"t": 0.0},
            {"accuracy": float("nan"), "t": 0.0}]
    assert pareto_front(rows, [("accuracy", "max"), ("t", "min")]) == [1, 2, 3]


def test_mark_pareto_flags_and_failed_rows():
    rows = [{"candidate": "a", "accuracy": 99.0, "sim_latency_ms": 10.0, "flash_bytes": 900},
            {"candidate": "b", "accuracy": 98.0, "sim_latency_ms": 5.0, "flash_bytes": 1000},
            {"candidate": "c", "accuracy": 97.0, "sim_latency_ms": 6.0, "flash_bytes": 800},
            {"candidate": "d", "error": "boom"}]
    mark_pareto(rows, "latency")
    assert [r["pareto_latency"] for r in rows] == [True, True, False, False]
    assert [r["pareto_size"] for r in rows] == [True, False, True, False]
    assert [r["pareto"] for r in rows] == [r["pareto_latency"] for r in rows]


def test_candidates_that_do_not_fit_are_not_on_the_front():
    rows = [{"candidate": "f32", "accuracy": 99.5, "sim_latency_ms": 30.0, "flash_bytes": 9000, "fits_target": False},
            {"candidate": "i8", "accuracy": 98.0, "sim_latency_ms": 5.0, "flash_bytes": 1000, "fits_target": True},
            {"candidate": "bin", "accuracy": 60.0, "sim_latency_ms": 2.0, "flash_bytes": 300, "fits_target": True}]
    mark_pareto(rows, "latency")
    assert [r["pareto_latency"] for r in rows] == [False, True, True]
    assert [r["pareto_size"] for r in rows] == [False, True, True]
    for r in rows:  # when nothing fits, the front is over all candidates
        r["fits_target"] = False
    mark_pareto(rows, "size")
    assert [r["pareto_size"] for r in rows] == [True, True, True]
