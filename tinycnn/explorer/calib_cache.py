"""Calibration runs shared by every candidate of one model (build_graph's ``calibrations``).

The float graph runs over the calibration inputs once (tinycnn.quant.calibrate, same batches),
keeping every activation. A candidate with binarized layers changes only what is downstream of
its first binarized layer, so its observer re-runs just those nodes on the kept activations and
reads min / max, exact (min and max do not depend on the observer's sampling). Ranges of other
methods (percentile, mse, entropy: they read the observer's random sample of values) come from
a full tinycnn.quant.calibrate run of the binarized graph, made on first use. Every range is
computed once per (tensor, method)."""
from __future__ import annotations

import numpy as np

from tinycnn.quant.calibrate import RangeObserver, calibrate
from tinycnn.reference.float_ops import run_float, run_node_float

BATCH = 64  # tinycnn.quant.calibrate's default batch: the same float results
MAX_KEPT_BYTES = 1 << 30


class MemoObserver:
    """An observer whose ``range(name, method, percentile)`` is computed once."""

    def __init__(self, obs):
        self.obs, self.memo = obs, {}

    def range(self, name, method="minmax", percentile=99.99):
        key = (name, method, percentile if method == "percentile" else None)
        if key not in self.memo:
            self.memo[key] = self.obs.range(name, method, percentile)
        return self.memo[key]


class _Downstream:
    """min / max of a binarized graph from the base run's kept activations."""

    def __init__(self, base_min, base_max, graph, kept, first, calib):
        self.graph, self.calib = graph, calib
        self.min, self.max = dict(base_min), dict(base_max)
        self.full = None
        redo = graph.nodes[first:]
        fresh = {o for n in redo for o in n.outputs}
        for name in fresh:
            self.min.pop(name, None)
            self.max.pop(name, None)
        for values in kept:
            vals = {k: v for k, v in values.items() if k not in fresh}
            for node in redo:
                for name, v in zip(node.outputs, run_node_float(graph, node, vals)):
                    vals[name] = v
                    v = np.asarray(v, np.float32)  # as RangeObserver sees it
                    if v.size:
                        self.min[name] = min(self.min.get(name, np.inf), float(v.min()))
                        self.max[name] = max(self.max.get(name, -np.inf), float(v.max()))

    def range(self, name, method="minmax", percentile=99.99):
        if method == "minmax":
            return self.min[name], self.max[name]
        if self.full is None:
            self.full = calibrate(self.graph, self.calib)
        return self.full.range(name, method, percentile)


class CalibrationCache(dict):
    """binary layer set -> MemoObserver, filled by ``observer``."""

    def __init__(self):
        super().__init__()
        self.kept = None

    def observer(self, fg, graph, binary: tuple, calib: list):
        """Observer of ``graph`` (``fg`` with the ``binary`` layers binarized) on ``calib``."""
        if binary in self:
            return self[binary]
        if () not in self:
            obs, kept, size = RangeObserver(), [], 0
            for i in range(0, len(calib[0]), BATCH):
                values = run_float(fg, [x[i:i + BATCH] for x in calib], keep_all=True, observer=obs)
                size += sum(v.nbytes for v in values.values())
                kept.append(values)
            self.kept = kept if size <= MAX_KEPT_BYTES else None
            self[()] = MemoObserver(obs)
        if binary:
            if self.kept is None:
                self[binary] = MemoObserver(calibrate(graph, calib))
            else:
                first = min(i for i, n in enumerate(graph.nodes) if n.name in binary)
                base = self[()].obs
                self[binary] = MemoObserver(_Downstream(base.min, base.max, graph, self.kept, first, calib))
        return self[binary]
