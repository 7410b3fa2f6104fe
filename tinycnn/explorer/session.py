"""What one explorer process computes once and reuses across candidates (profile of a
MobileNetV3-class model in benchmarks/RESULTS.md): the imported float graph, the calibration run
(one per set of binarized layers), activation ranges per (tensor, method), firmware_sim arena
plans per graph structure, and the shared arrays a job refers to.

Every cache is an exact memo (same inputs -> the very same values), local to the process: a
worker of the process pool or a Ray worker warms its own on its first job, so results do not
depend on which worker ran what. Keys include what the value depends on (model file path, size
and mtime; the calibration array's sha256; the graph structure for a plan)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

_MODELS: dict = {}
_CALIBRATIONS: dict = {}
_PLANS: dict = {}
_SHARED: dict = {}
MAX_PLANS = 64


def _file_key(path) -> tuple:
    st = Path(path).stat()
    return str(Path(path).resolve()), st.st_size, st.st_mtime_ns


def model_graph(model_path):
    """The imported float graph of ``model_path`` (read-only by convention: build_graph copies)."""
    from tinycnn.explorer.source import import_float, input_shapes_of
    key = (_file_key(model_path), repr(sorted((input_shapes_of(model_path) or {}).items())))
    if key not in _MODELS:
        _MODELS.clear()  # one model at a time per process (a sweep moves on)
        _MODELS[key] = import_float(model_path)  # with the source's fixed input shapes
    return _MODELS[key]


def array_key(x: np.ndarray) -> str:
    x = np.ascontiguousarray(x)
    return hashlib.sha256(repr((x.shape, x.dtype.str)).encode() + x.tobytes()).hexdigest()


def calibrations(model_path, x_calib):
    """The calibration cache (tinycnn.explorer.calib_cache.CalibrationCache) of this model and
    calibration array in this process."""
    from tinycnn.explorer.calib_cache import CalibrationCache
    key = (_file_key(model_path), array_key(x_calib))
    if key not in _CALIBRATIONS:
        _CALIBRATIONS.clear()
        _CALIBRATIONS[key] = CalibrationCache()
    return _CALIBRATIONS[key]


def plan_key(graph, sizes: dict, quantized: bool) -> str:
    """Everything firmware_sim's arena planner reads: op order and wiring, attributes, tensor
    shapes and dtypes, buffer sizes."""
    parts = [quantized, graph.inputs, graph.outputs, sorted(sizes.items())]
    for n in graph.nodes:
        parts.append((n.name, n.op.value, n.inputs, n.outputs, sorted((k, repr(v)) for k, v in n.attrs.items())))
    for name, t in graph.tensors.items():
        if not t.is_const:
            parts.append((name, tuple(t.shape), t.dtype))
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def memory_plan(graph, quantized: bool):
    """firmware_sim.simulate's arena plan (op-order search, in-place), memoized by structure."""
    from firmware_sim.device import buffer_sizes, plan_memory
    from firmware_sim.simulation import float_plan
    sizes = buffer_sizes(graph) if quantized else None
    key = plan_key(graph, sizes or {}, quantized)
    if key not in _PLANS:
        if len(_PLANS) >= MAX_PLANS:
            _PLANS.pop(next(iter(_PLANS)))
        _PLANS[key] = plan_memory(graph) if quantized else float_plan(graph)
    return _PLANS[key]


# ---- arrays shared by many jobs: stored once, referred to by a small handle ----

class SharedFile:
    """Handle to arrays saved once in an .npz (process-pool backend): jobs carry the path,
    each worker loads it once."""

    def __init__(self, path):
        self.path = str(path)

    def resolve(self):
        if self.path not in _SHARED:
            from tinycnn.explorer.evaluate import EvalData
            with np.load(self.path) as z:
                y = z["y_test"] if "y_test" in z else None
                _SHARED[self.path] = EvalData(z["x_calib"], z["x_test"], y, z["reference"])
        return _SHARED[self.path]


def save_shared(data, path) -> SharedFile:
    arrays = {"x_calib": data.x_calib, "x_test": data.x_test, "reference": data.reference}
    if data.y_test is not None:
        arrays["y_test"] = data.y_test
    np.savez(path, **arrays)
    return SharedFile(path)


def resolve(arg):
    """A job argument as the job function sees it (handles -> their arrays)."""
    return arg.resolve() if hasattr(arg, "resolve") else arg
