"""Per-layer sensitivity: how much accuracy and output SQNR a model loses when ONE weighted
layer is taken to a lower precision (int8, or 1-bit where the layer is binarizable) while every
other layer stays at the highest (16x8: int16 activations, int8 weights), measured on the
validation inputs. Also records what that one change saves in simulated latency and flash.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tinycnn.explorer.candidates import layer_options, mixed_candidate
from tinycnn.explorer.evaluate import EvalData
from tinycnn.explorer.parallel import make_backend


def baseline_bits(options: dict) -> dict:
    return {layer: opts[0] for layer, opts in options.items()}


def sensitivity_items(options: dict) -> list:
    """(layer, precision) pairs: every lower precision of every layer."""
    return [(layer, p) for layer, opts in options.items() for p in opts[1:]]


def measure_sensitivity(model_path, fg, data: EvalData, target="cortex-m4", clock_mhz=None, jobs=2,
                        progress=True, calibration="minmax") -> tuple:
    """(baseline record, rows) with one row per (layer, lower precision), most harmful first.
    jobs: a worker count or a backend (tinycnn.explorer.parallel); one job per row, so the
    progress bar moves per (layer, precision)."""
    from tinycnn.explorer.evaluate import evaluate_candidate
    options = layer_options(fg)
    items = sensitivity_items(options)
    base = baseline_bits(options)
    cands = [mixed_candidate(base, "baseline", calibration)]
    cands += [mixed_candidate({**base, layer: p}, f"{layer}={p}", calibration) for layer, p in items]
    backend = make_backend("local", jobs) if isinstance(jobs, int) else jobs
    try:
        shared = backend.share(data)
        recs = backend.map(evaluate_candidate, [(model_path, c, shared, target, clock_mhz, 0, None, True)
                                                for c in cands], "sensitivity (layer x precision)", progress)
    finally:
        if isinstance(jobs, int):
            backend.close()
    baseline, by_item = recs[0], dict(zip(items, recs[1:]))
    if "error" in baseline:
        from tinycnn.errors import TinyCNNError
        raise TinyCNNError(f"sensitivity baseline (all layers 16x8) failed: {baseline['error']}")
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
                input_shapes=None, backend="local", address=None) -> SensitivityResult:
    """Per-layer sensitivity on the whole of ``data`` (see module doc); optional bar plot/JSON.
    input_shapes: fixes dynamic input dims (else the calibration data's shape does)."""
    from tinycnn.explorer.inputs import load_calib, load_eval_data
    from tinycnn.explorer.source import resolve_source
    fg, model_path = resolve_source(model_path, input_shapes, load_calib(calib, calib_samples))
    data_all = load_eval_data(model_path, data, calib, max_samples)
    data_all.x_calib = load_calib(calib, calib_samples)
    with make_backend(backend, jobs, address) as b:
        baseline, rows = measure_sensitivity(model_path, fg, data_all, target, clock_mhz, b, progress)
    res = SensitivityResult(str(model_path), baseline, rows, baseline["accuracy_metric"],
                            {"target": target, "samples": int(len(data_all.x_test))})
    if plot:
        from tinycnn.explorer.plot import plot_sensitivity
        plot_sensitivity(res, plot, top)
    if json_path:
        from tinycnn.explorer.report import write_json
        write_json(res.to_json(), json_path)
    return res
