"""Per-layer sensitivity: how much accuracy and output SQNR a model loses when ONE weighted
layer is taken to a lower precision (int8, or 1-bit where the layer is binarizable) while every
other layer stays at the highest (16x8: int16 activations, int8 weights), measured on the
validation inputs. Also records what that one change saves in simulated latency and flash.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tinycnn.explorer.candidates import layer_options, mixed_candidate
from tinycnn.explorer.evaluate import EvalData, measure_candidate
from tinycnn.explorer.parallel import chunks, run_jobs


def baseline_bits(options: dict) -> dict:
    return {layer: opts[0] for layer, opts in options.items()}


def sensitivity_items(options: dict) -> list:
    """(layer, precision) pairs: every lower precision of every layer."""
    return [(layer, p) for layer, opts in options.items() for p in opts[1:]]


def _measure_bits(fg, bits, data, target, clock_mhz, calibrations, name="mixed", calibration="minmax"):
    return measure_candidate(fg, mixed_candidate(bits, name, calibration), data, target, clock_mhz,
                             latency_samples=0, calibrations=calibrations)


def sensitivity_chunk(model_path, items, data: EvalData, target, clock_mhz, calibration="minmax") -> list:
    """Records for [(layer, precision)] (pure; one calibration cache for the chunk)."""
    from tinycnn.explorer.source import import_float
    fg = import_float(model_path)
    base = baseline_bits(layer_options(fg))
    calibrations = {}
    return [_measure_bits(fg, {**base, layer: p}, data, target, clock_mhz, calibrations, f"{layer}={p}",
                          calibration) for layer, p in items]


def measure_sensitivity(model_path, fg, data: EvalData, target="cortex-m4", clock_mhz=None, jobs=2,
                        progress=True, calibration="minmax") -> tuple:
    """(baseline record, rows) with one row per (layer, lower precision), most harmful first."""
    options = layer_options(fg)
    items = sensitivity_items(options)
    baseline = _measure_bits(fg, baseline_bits(options), data, target, clock_mhz, {}, "baseline", calibration)
    if "error" in baseline:
        from tinycnn.errors import TinyCNNError
        raise TinyCNNError(f"sensitivity baseline (all layers 16x8) failed: {baseline['error']}")
    parts = chunks(items, jobs)
    results = run_jobs(sensitivity_chunk, [(model_path, part, data, target, clock_mhz, calibration)
                                           for part in parts],
                       jobs, "sensitivity", progress)
    by_item = {}
    for part, recs in zip(parts, results):
        by_item.update(zip(part, recs))
    nodes = {n.name: n for n in fg.nodes}
    rows = []
    for layer, p in items:
        r = by_item[(layer, p)]
        node = nodes[layer]
        row = {"layer": layer, "source": node.attrs.get("source_name", layer), "op": node.op.value,
               "precision": p}
        if "error" in r:
            row["error"] = r["error"]
        else:
            row.update(accuracy=r["accuracy"], accuracy_drop=r["accuracy_drop"],
                       drop_vs_baseline=baseline["accuracy"] - r["accuracy"], sqnr_db=r["sqnr_db"],
                       sim_latency_ms=r["sim_latency_ms"], flash_bytes=r["flash_bytes"],
                       latency_saving_ms=baseline["sim_latency_ms"] - r["sim_latency_ms"],
                       flash_saving_bytes=baseline["flash_bytes"] - r["flash_bytes"])
        rows.append(row)
    rows.sort(key=lambda r: (-r.get("accuracy_drop", float("inf")), r.get("sqnr_db", 0.0)))
    return baseline, rows


@dataclass
class SensitivityResult:
    model: str
    baseline: dict
    rows: list
    accuracy_metric: str = ""
    meta: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"model": self.model, "baseline": self.baseline, "rows": self.rows,
                "accuracy_metric": self.accuracy_metric, **self.meta}

    def format(self) -> str:
        from tinycnn.report import format_table
        cols = [("source", "layer"), ("op", "op"), ("precision", "lowered to"),
                ("accuracy_drop", "acc drop (pts)"), ("sqnr_db", "output SQNR dB"),
                ("latency_saving_ms", "saves ms"), ("flash_saving_bytes", "saves flash B")]
        b = self.baseline
        head = (f"per-layer sensitivity of {self.model}: one layer lowered, all others 16x8 "
                f"(baseline {self.accuracy_metric} {b['accuracy']:.2f}%, float {b['float_accuracy']:.2f}%, "
                f"output SQNR {b['sqnr_db']:.1f} dB); most harmful first")
        return format_table(self.rows, cols, head)


def sensitivity(model_path, data, calib, target="cortex-m4", clock_mhz=None, jobs=2, max_samples=None,
                calib_samples=None, progress=True, plot=None, json_path=None, top=20,
                input_shapes=None) -> SensitivityResult:
    """Per-layer sensitivity on the whole of ``data`` (see module doc); optional bar plot/JSON.
    input_shapes: fixes dynamic input dims (else the calibration data's shape does)."""
    from tinycnn.explorer.inputs import load_calib, load_eval_data
    from tinycnn.explorer.source import resolve_source
    fg, model_path = resolve_source(model_path, input_shapes, load_calib(calib, calib_samples))
    data_all = load_eval_data(model_path, data, calib, max_samples)
    data_all.x_calib = load_calib(calib, calib_samples)
    baseline, rows = measure_sensitivity(model_path, fg, data_all, target, clock_mhz, jobs, progress)
    res = SensitivityResult(str(model_path), baseline, rows, baseline["accuracy_metric"],
                            {"target": target, "samples": int(len(data_all.x_test))})
    if plot:
        from tinycnn.explorer.plot import plot_sensitivity
        plot_sensitivity(res, plot, top)
    if json_path:
        from tinycnn.explorer.report import write_json
        write_json(res.to_json(), json_path)
    return res
