"""`tinycnn tradeoff`: build every candidate, measure it on the held-back test split, search a
mixed-precision configuration on the validation split, mark the Pareto front."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from tinycnn.convert import note
from tinycnn.errors import TinyCNNError
from tinycnn.explorer.candidates import default_candidates, mixed_candidate
from tinycnn.explorer.evaluate import evaluate_candidate
from tinycnn.explorer.parallel import make_backend
from tinycnn.explorer.report import (OBJECTIVE_KEYS, TABLE_COLUMNS, mark_pareto, sort_rows, table_rows,
                                     write_json)


@dataclass
class TradeoffResult:
    model: str
    target: str
    objective: str
    rows: list  # one record per candidate, sorted by the objective
    skipped: list  # [(candidate, reason)]
    accuracy_metric: str
    float_accuracy: float | None
    split: dict
    mixed: dict | None = None  # SearchResult.to_json()
    meta: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"model": self.model, "target": self.target, "objective": self.objective,
                "accuracy_metric": self.accuracy_metric, "float_accuracy": self.float_accuracy,
                "split": self.split, "candidates": self.rows,
                "skipped": [{"candidate": c, "reason": r} for c, r in self.skipped],
                "mixed_precision": self.mixed, **self.meta}

    def format(self) -> str:
        from tinycnn.report import format_table
        key = OBJECTIVE_KEYS[self.objective]
        title = (f"{self.model} on {self.target}: {self.accuracy_metric} on {self.split['test']} held-back "
                 f"samples (float {self.float_accuracy:.2f}%), sorted by {key}; "
                 f"* = Pareto-optimal in accuracy vs {key}")
        lines = [format_table(table_rows(self.rows), TABLE_COLUMNS, title)]
        if self.meta.get("calibration_auto"):
            lines.append(self.meta["calibration_auto"]["reason"])
        for r in self.rows:
            if "error" in r:
                lines.append(f"failed {r['candidate']}: {r['error']}")
        for c, reason in self.skipped:
            lines.append(f"skipped {c}: {reason}")
        if self.mixed:
            m = self.mixed
            v = m["validation"]
            lines.append(f"mixed precision (layer bits, weighted layers in order: {m['layer_bits_summary']}): "
                         + (f"validation drop {v['accuracy_drop']:.2f} pts <= budget {m['max_accuracy_drop']:g} "
                            f"on {self.split['validation']} validation samples" if m["meets_budget"] else
                            f"NO configuration meets the {m['max_accuracy_drop']:g}-point budget on the "
                            f"validation split (all-16x8 drops {v['accuracy_drop']:.2f}); shown: all 16x8"))
        lines.append("sim ms / SRAM / flash: firmware_sim estimates (cycle model; 16x8 and float32 costs are "
                     "tradeoff's own estimates, see docs/tradeoff.md); CPU ms: measured median per sample here.")
        return "\n".join(lines)

    def save_json(self, path):
        return write_json(self.to_json(), path)

    def plot(self, path):
        from tinycnn.explorer.plot import plot_tradeoff
        return plot_tradeoff(self, path)


def tradeoff(model_path, data, calib, target="cortex-m4", clock_mhz=None, objective="latency",
             max_accuracy_drop=1.0, jobs=2, mixed=True, val_fraction=0.3, seed=0, max_samples=None,
             calib_samples=None, latency_samples=16, progress=True, candidates=None, calibration="minmax",
             save_dir=None, input_shapes=None, backend="local", address=None) -> TradeoffResult:
    """Measure every candidate on a held-back test split of ``data`` (see docs/tradeoff.md).
    calibration: method of the per-tensor / 16x8 / 1-bit / mixed candidates, or "auto" (chosen on
    the validation split, tinycnn.explorer.calibration); save_dir: keep every measured blob there,
    with tradeoff.json; backend: "local" (``jobs`` worker processes), "ray" (Ray tasks; ``address``
    of the cluster, else RAY_ADDRESS or a local cluster) or a backend object
    (tinycnn.explorer.parallel); input_shapes: {input: shape} fixing dynamic input dims (else the
    calibration data's shape does, as in tinycnn convert)."""
    from pathlib import Path

    from tinycnn.explorer.save import provenance
    from tinycnn.quant.calibrate import METHODS
    from firmware_sim.targets import get_target
    from tinycnn.explorer.inputs import load_calib, load_eval_data, split_validation
    from tinycnn.explorer.source import resolve_source

    if objective not in OBJECTIVE_KEYS:
        raise TinyCNNError(f"--objective must be one of {', '.join(OBJECTIVE_KEYS)}")
    if calibration not in METHODS + ("auto",):
        raise TinyCNNError(f"--calibration must be one of {', '.join(METHODS + ('auto',))}")
    get_target(target, None, clock_mhz)  # fail early on an unknown target
    fg, model_path = resolve_source(model_path, input_shapes, load_calib(calib, calib_samples))
    if fg.meta.get("scheme") not in (None, "float32"):
        raise TinyCNNError(f"{model_path} is already quantized ({fg.meta['scheme']}); tradeoff needs a float model")
    full = load_eval_data(model_path, data, calib, max_samples)
    full.x_calib = load_calib(calib, calib_samples)
    val, test = split_validation(full, val_fraction, seed) if mixed or calibration == "auto" else (None, full)
    meta = {"clock_mhz": clock_mhz, "jobs": jobs, "calibration": calibration,
            "provenance": provenance(model_path, calib, full.x_calib, calib_samples), "warnings": []}
    if model_path.input_shapes:  # convert --from-tradeoff imports with the same shapes
        meta["provenance"]["input_shapes"] = model_path.input_shapes
    if mixed:
        warn = small_validation_warning(len(val.x_test), max_accuracy_drop)
        if warn:
            note(warn)
            meta["warnings"].append(warn)
    with _owned(make_backend(backend, jobs, address), isinstance(backend, str)) as pool:
        meta["backend"] = pool.name
        if calibration == "auto":
            from tinycnn.explorer.calibration import choose_calibration
            meta["calibration_auto"] = choose_calibration(model_path, val, target, clock_mhz, pool, progress)
            calibration = meta["calibration_auto"]["method"]
            meta["calibration"] = calibration
        cands, skipped = (list(candidates), []) if candidates is not None else default_candidates(fg, calibration)
        search = None
        if mixed:
            from tinycnn.explorer.mixed_precision import search_mixed_precision
            search = search_mixed_precision(model_path, fg, val, max_accuracy_drop, objective, target, clock_mhz,
                                            pool, progress, calibration)
            cands.append(mixed_candidate(search.bits, f"mixed ({objective}, <={max_accuracy_drop:g} pts)",
                                         calibration))
        if save_dir:
            Path(save_dir).mkdir(parents=True, exist_ok=True)
            save_dir = str(save_dir)
        shared = pool.share(test)
        records = pool.map(evaluate_candidate, [(model_path, c, shared, target, clock_mhz, latency_samples, save_dir)
                                                for c in cands], "candidates", progress)
    ok = [r for r in records if "error" not in r]
    if not ok:
        raise TinyCNNError("every candidate failed: " + "; ".join(f"{r['candidate']}: {r['error']}" for r in records))
    mark_pareto(records, objective)
    rows = sort_rows(records, objective)
    split = {"validation": 0 if val is None else int(len(val.x_test)), "test": int(len(test.x_test)),
             "val_fraction": val_fraction if val is not None else None, "seed": seed,
             "calibration": int(len(full.x_calib))}
    res = TradeoffResult(model_path, target, objective, rows, skipped, ok[0]["accuracy_metric"],
                         ok[0]["float_accuracy"], split, search.to_json() if search else None, meta)
    if save_dir:
        res.save_json(Path(save_dir) / "tradeoff.json")
    return res


def _owned(backend, owned: bool):
    """Context: close the backend at the end only if this call created it (a sweep passes one)."""
    import contextlib
    return backend if owned else contextlib.nullcontext(backend)


def small_validation_warning(n_val: int, budget: float) -> str | None:
    """One validation sample is 100/N accuracy points: a budget below that can only be met by a
    configuration that changes no validation prediction at all."""
    step = 100.0 / n_val
    if step <= budget:
        return None
    need = f"; at least {math.ceil(100.0 / budget)} validation samples are needed" if budget > 0 else ""
    return (f"the validation split has {n_val} samples, so one sample is {step:.2f} accuracy points, more than "
            f"the --max-accuracy-drop budget of {budget:g} points: the mixed-precision search can only accept a "
            f"configuration that changes no validation prediction{need} (more --data or a larger --val-fraction)")
