"""The ``tinycnn-c`` kernel stack: latency of tinycnn's own C runtime (firmware_sim/c_runtime).

Measured path (``simulate --kernels tinycnn-c --emulate``): each layer's instruction counts by class,
measured under QEMU (firmware_sim.emulate), times the core's cycles per instruction by class
(firmware_sim.cpi), plus the weight-read waits of the target (firmware_sim.memory_cost).

Model path (no QEMU): per core, MAC layers ``cycles = a[kind] * MACs + b * outputs + c`` (one MAC
rate per kernel kind, shared per-output and per-layer costs), other ops ``b[op] * outputs + c[op]``,
fitted by non-negative least squares to the CPI-weighted measured counts recorded by ``python -m firmware_sim.calibrate_c``
(firmware_sim/calibration/tinycnn_c_counts.json). Its error range is measured, not assumed: every
calibration model is predicted by a fit that left it out (``model_error``), per layer and whole model.
"""
from __future__ import annotations

import functools
import json

import numpy as np

from firmware_sim.calibrate_c import OUT as COUNTS
from firmware_sim.cpi import CPI, core_key, cycles as cpi_cycles

# emulated board per CPI table (the M0+ runs the M0's Armv6-M code: same instructions)
EMULATED = {"cortex-m0plus": "cortex-m0"}


@functools.lru_cache(maxsize=None)
def _counts() -> dict:
    return json.loads(COUNTS.read_text()) if COUNTS.exists() else {}


MAC_KINDS = ("conv", "conv_1x1", "depthwise_3x3", "depthwise", "fully_connected")


def samples(core: str) -> dict:
    """model -> [(kind, macs, outputs, measured cycles)] on ``core`` (a CPI key)."""
    data = _counts().get(EMULATED.get(core, core), {})
    return {m: [(r["kind"], r["macs"], r["outputs"], cpi_cycles(r["classes"], core)) for r in rows]
            for m, rows in data.items()}


def _features(kind, macs, outputs) -> np.ndarray:
    """MAC layers share one model: a MAC rate per kernel kind, one per-output cost (bias, requantize,
    store: the same code in every MAC kernel) and one per-layer cost; other ops: per-output and
    per-layer cost of their own kind."""
    if kind in MAC_KINDS:
        x = np.zeros(len(MAC_KINDS) + 2)
        x[MAC_KINDS.index(kind)] = macs
        x[-2:] = outputs, 1.0
        return x
    return np.array([outputs, macs, 1.0], float)


def _nonneg_lstsq(xs, ys) -> np.ndarray:
    """Least squares with every coefficient >= 0 (drop the most negative column, refit)."""
    keep = [j for j in range(xs.shape[1]) if xs[:, j].any()]
    coef = np.zeros(xs.shape[1])
    while keep:
        c, *_ = np.linalg.lstsq(xs[:, keep], ys, rcond=None)
        if (c >= 0).all():
            coef[keep] = c
            break
        keep.pop(int(np.argmin(c)))
    return coef


def _fit(rows) -> dict:
    """group -> coefficients: "mac" (all MAC kinds), each other op kind, "*" (any op, fallback)."""
    groups = {}
    for kind, macs, outputs, y in rows:
        key = "mac" if kind in MAC_KINDS else kind
        groups.setdefault(key, []).append((_features(kind, macs, outputs), y))
    groups["*"] = [(_features("*", macs, outputs), y) for kind, macs, outputs, y in rows if kind not in MAC_KINDS]
    out = {}
    for key, pts in groups.items():
        if pts:
            out[key] = _nonneg_lstsq(np.array([p[0] for p in pts]), np.array([p[1] for p in pts], float))
    return out


@functools.lru_cache(maxsize=None)
def fitted(core: str, leave_out: str = "") -> dict:
    rows = [s for m, ss in samples(core).items() if m != leave_out for s in ss]
    return _fit(rows) if rows else {}


def predict(kind: str, macs: int, outputs: int, core: str, leave_out: str = "") -> float:
    coef = fitted(core, leave_out)
    key = "mac" if kind in MAC_KINDS else kind
    c = coef.get(key, coef.get("*"))
    if kind in MAC_KINDS and not c[MAC_KINDS.index(kind)]:  # a kind not calibrated: the mean MAC rate
        c = c.copy()
        rates = c[:len(MAC_KINDS)]
        c[MAC_KINDS.index(kind)] = rates[rates > 0].mean() if (rates > 0).any() else 0.0
    return float(np.dot(c, _features(kind if key != "*" or kind in MAC_KINDS else "*", macs, outputs)))


@functools.lru_cache(maxsize=None)
def model_error(core: str) -> dict | None:
    """Leave-one-model-out error of the fitted model against the measured cycles on ``core``:
    per layer (median, 90th percentile of |error|) and whole model (each model's signed error)."""
    per_model = samples(core)
    if len(per_model) < 2:
        return None
    layer_err, whole = [], {}
    for m, rows in per_model.items():
        pred = np.array([predict(k, macs, outs, core, leave_out=m) for k, macs, outs, _ in rows])
        meas = np.array([y for *_, y in rows])
        layer_err += list(np.abs(pred - meas) / np.maximum(meas, 1.0))
        whole[m] = float(pred.sum() / meas.sum() - 1)
    return {"layer_median": float(np.median(layer_err)), "layer_p90": float(np.percentile(layer_err, 90)),
            "whole_model": whole, "whole_max": max(abs(v) for v in whole.values()), "models": len(whole)}


def stack_core(target) -> str:
    """The CPI key for a target, or a clear error for the tinycnn-c stack."""
    from tinycnn.errors import TinyCNNError
    key = core_key(target)
    if key is None:
        raise TinyCNNError(f"target {target.name}: --kernels tinycnn-c needs a Cortex-M core with a cycles-per-"
                           f"instruction table ({', '.join(CPI)}); {target.core} has none")
    return key


def layer_cycles(graph, nodes, target) -> list:
    """[(cycles:int, kernel description)] of the fitted model, weight waits included."""
    from tinycnn.errors import TinyCNNError

    from firmware_sim.calibrate_c import layer_facts
    from firmware_sim.memory_cost import stall_cycles
    core = stack_core(target)
    if not fitted(core):
        raise TinyCNNError(f"no tinycnn-c calibration for {core} in {COUNTS} "
                           f"(run: python -m firmware_sim.calibrate_c --cores {EMULATED.get(core, core)})")
    facts = {f["name"]: f for f in _facts_by_name(graph, layer_facts)}
    out = []
    for n in nodes:
        f = facts[n.name]
        cyc = predict(f["kind"], f["macs"], f["outputs"], core) + stall_cycles(graph, n, target)
        out.append((int(np.ceil(cyc)), f"{f['kind']} (tinycnn C, fitted to QEMU counts)"))
    return out


def _facts_by_name(graph, layer_facts) -> list:
    return [dict(f, name=n.name) for f, n in zip(layer_facts(graph), graph.nodes)]


def measured_cycles(emulation: dict, graph, nodes, target) -> list:
    """Per node (in ``nodes`` order): QEMU-measured instructions by class x CPI + weight waits."""
    from firmware_sim.memory_cost import stall_cycles
    core = stack_core(target)
    by_name = {lay["name"]: lay["classes"] for lay in emulation["layers"]}
    return [int(np.ceil(cpi_cycles(by_name[n.name], core) + stall_cycles(graph, n, target))) for n in nodes]
