"""Activation ranges from a float run over calibration data.

Methods:
- ``minmax``: the observed min and max;
- ``percentile``: the 0.01th / 99.99th percentiles (``percentile=99.99``) of the observed values;
- ``mse``: the clipping range that minimises the int8 quantisation mean squared error of the
  observed values (grid search over shrunk min/max);
- ``entropy``: the TensorRT-style KL-divergence threshold on a 2048-bin histogram.
Values are kept as a bounded random sample per tensor (reservoir of ``sample_size``) besides
the exact min/max, so memory stays flat for any calibration set size.
"""
from __future__ import annotations

import numpy as np

from tinycnn.reference.float_ops import run_float

METHODS = ("minmax", "percentile", "mse", "entropy")


class RangeObserver:
    def __init__(self, sample_size=100_000, seed=0):
        self.min, self.max, self.samples = {}, {}, {}
        self.sample_size = sample_size
        self.rng = np.random.default_rng(seed)

    def __call__(self, name, value):
        v = np.asarray(value, np.float32).reshape(-1)
        if v.size == 0:
            return
        self.min[name] = min(self.min.get(name, np.inf), float(v.min()))
        self.max[name] = max(self.max.get(name, -np.inf), float(v.max()))
        if v.size > self.sample_size // 4:
            v = self.rng.choice(v, self.sample_size // 4, replace=False)
        prev = self.samples.get(name)
        merged = v if prev is None else np.concatenate([prev, v])
        if merged.size > self.sample_size:
            merged = self.rng.choice(merged, self.sample_size, replace=False)
        self.samples[name] = merged

    def range(self, name, method="minmax", percentile=99.99):
        lo, hi = self.min[name], self.max[name]
        if method == "minmax":
            return lo, hi
        s = self.samples[name]
        if method == "percentile":
            return float(np.percentile(s, 100 - percentile)), float(np.percentile(s, percentile))
        if method == "mse":
            return _mse_range(s, lo, hi)
        if method == "entropy":
            return _entropy_range(s, lo, hi)
        raise ValueError(f"unknown calibration method '{method}'; choose from {METHODS}")


def _fake_quant(s, lo, hi):
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = (hi - lo) / 255.0 or 1.0
    zp = np.round(-128 - lo / scale)
    q = np.clip(np.round(s / scale) + zp, -128, 127)
    return (q - zp) * scale


def _mse_range(s, lo, hi):
    best, best_err = (lo, hi), np.inf
    for f in np.linspace(0.3, 1.0, 36):
        err = float(np.mean((_fake_quant(s, lo * f, hi * f) - s) ** 2))
        if err < best_err:
            best, best_err = (lo * f, hi * f), err
    return best


def _entropy_range(s, lo, hi, bins=2048):
    """KL-divergence threshold (TensorRT's entropy calibration) on |x| with the sign kept.
    A non-negative tensor gets all 256 int8 levels on [0, t] (asymmetric activations), a
    signed one 128 per side."""
    levels = 256 if lo >= 0 else 128
    a = np.abs(s)
    a = a[a > 0]  # exact zeros (ReLU outputs, image backgrounds) would dominate bin 0
    if a.size == 0:
        return lo, hi
    amax = float(a.max())
    hist, edges = np.histogram(a, bins=bins, range=(0, amax))
    hist = hist.astype(np.float64)
    best_i, best_kl = bins, np.inf
    for i in range(levels, bins + 1, 16):
        ref = hist[:i].copy()
        ref[i - 1] += hist[i:].sum()
        # quantise the first i bins into `levels` buckets (np.array_split's chunks) and expand
        # back: each non-empty bin gets its bucket's mean over non-empty bins (integer counts,
        # so the sums are exact whatever the order)
        q = _expand_buckets(hist[:i], levels)
        p = ref / ref.sum()
        qn = q / q.sum() if q.sum() else q
        mask = p > 0
        kl = float(np.sum(p[mask] * np.log(p[mask] / np.maximum(qn[mask], 1e-12))))
        if kl < best_kl:
            best_kl, best_i = kl, i
    t = float(edges[best_i]) if best_i < len(edges) else amax
    return max(lo, -t), min(hi, t)


def _expand_buckets(h, levels):
    n = len(h)
    sizes = np.full(levels, n // levels)
    sizes[:n % levels] += 1
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    nz = h > 0
    sums = np.add.reduceat(h, starts)
    counts = np.add.reduceat(nz.astype(np.int64), starts)
    means = sums / np.maximum(counts, 1)
    return np.where(nz, np.repeat(means, sizes), 0)


def calibrate(graph, calib_nhwc: list, batch_size=64, progress=False) -> RangeObserver:
    """Run the float graph over calibration inputs (list of NHWC arrays, one per graph input)."""
    obs = RangeObserver()
    n = len(calib_nhwc[0])
    starts = range(0, n, batch_size)
    if progress:
        from tqdm import tqdm
        starts = tqdm(starts, desc="calibrating", unit="batch", leave=False)
    for i in starts:
        run_float(graph, [x[i:i + batch_size] for x in calib_nhwc], observer=obs)
    return obs
