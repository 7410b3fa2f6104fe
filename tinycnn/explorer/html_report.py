"""`tinycnn report`: one self-contained HTML file (as STM32Cube.AI's analyze / validate report)
with what a person deciding on a deployment needs: the summary against the target's budgets,
the per-layer RAM / flash / latency table, the memory-profile and latency plots, the int8-vs-float
validation metrics (and per-layer SQNR) and the trade-off table. Plots are PNGs embedded as
data: URIs; there is no external file, script or stylesheet, so the file can be mailed around.
The page states, in ``data-*`` attributes of <body>, how many tables and plots it holds, and a
small inline script records how many images decoded (checked in headless Chromium by
tests/test_tradeoff_report.py)."""
from __future__ import annotations

import base64
import html
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from tinycnn.errors import TinyCNNError
from tinycnn.explorer.report import _jsonable

CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 7px}
th{background:#eef}td.n{text-align:right;font-variant-numeric:tabular-nums}tr.pareto td{background:#fff4e0}
img{max-width:100%;border:1px solid #ddd}.bad{color:#b00;font-weight:bold}.ok{color:#070}
.note{color:#555;font-size:13px}"""
SCRIPT = """window.addEventListener('load',function(){var im=document.images,n=0;
for(var i=0;i<im.length;i++){if(im[i].complete&&im[i].naturalWidth>0){n++;}}
document.body.setAttribute('data-images-decoded',String(n));});"""


def _fmt(v, digits=2):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return str(v)


def table(table_id: str, rows: list, columns: list, row_class=None) -> str:
    """columns: [(key, header) or (key, header, digits)]."""
    head = "".join(f"<th>{html.escape(c[1])}</th>" for c in columns)
    body = []
    for r in rows:
        cls = f' class="{row_class(r)}"' if row_class and row_class(r) else ""
        cells = []
        for c in columns:
            v = r.get(c[0])
            num = isinstance(v, (int, float)) and not isinstance(v, bool)
            cells.append(f'<td{" class=n" if num else ""}>{html.escape(_fmt(v, *c[2:]))}</td>')
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def embed_png(path, img_id: str, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img id="{img_id}" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def layer_rows(sim, graph) -> list:
    from tinycnn.costs import node_weight_bytes
    from tinycnn.report import layer_label
    weights = {layer_label(n): node_weight_bytes(graph, n) for n in graph.nodes}
    return [{**r, "weight_bytes": weights.get(r["layer"], 0), "share_pct": 100 * r["share"],
             "shape": "x".join(str(d) for d in r["shape"][1:])} for r in sim.rows]


LAYER_COLUMNS = [("layer", "layer"), ("op", "op"), ("kernel", "kernel"), ("dtype", "dtype"), ("shape", "output"),
                 ("macs", "MACs"), ("weight_bytes", "flash (weights) B"), ("sram_live_bytes", "SRAM live B"),
                 ("arena_high_bytes", "arena high-water B"), ("cycles", "cycles"), ("ms", "ms", 4),
                 ("share_pct", "% of time", 1)]
VALIDATION_COLUMNS = [("name", "output"), ("accuracy_reference_pct", "float top-1 %"),
                      ("accuracy_test_pct", "int8 top-1 %"), ("top1_agreement_pct", "top-1 agreement %"),
                      ("sqnr_db", "SQNR dB"), ("cosine", "cosine", 5), ("rmse", "RMSE", 4), ("mae", "MAE", 4),
                      ("max_abs_error", "max |err|", 4)]
TRADEOFF_COLUMNS = [("pareto_mark", "P"), ("candidate", "candidate"), ("accuracy", "acc %"),
                    ("accuracy_drop", "drop pts"), ("sqnr_db", "SQNR dB"), ("flash_kib", "flash KiB"),
                    ("sram_kib", "SRAM KiB"), ("sim_latency_ms", "sim ms", 3), ("cpu_latency_ms", "CPU ms", 3),
                    ("fits", "fits")]


def _validation_rows(metrics: dict) -> list:
    rows = []
    for o in metrics.get("outputs") or [metrics]:
        r = dict(o)
        for k in ("accuracy_reference", "accuracy_test", "top1_agreement"):
            if k in o:
                r[f"{k}_pct"] = 100 * o[k]
        rows.append(r)
    return rows


def _summary(sim, metrics, model, target) -> str:
    fits_sram = sim.peak_sram_bytes <= sim.sram_budget_bytes
    fits_flash = sim.blob_bytes + sim.runtime_flash_bytes <= sim.flash_budget_bytes
    flash = sim.blob_bytes + sim.runtime_flash_bytes

    def verdict(ok):
        return '<span class="ok">fits</span>' if ok else '<span class="bad">does NOT fit</span>'
    items = [f"model: <b>{html.escape(Path(model).name)}</b>; target <b>{html.escape(target)}</b> "
             f"({html.escape(sim.core)} @ {sim.clock_mhz:g} MHz, {html.escape(sim.library)} cost model)",
             f"SRAM (arena peak): {sim.peak_sram_bytes / 1024:.1f} KiB of {sim.sram_budget_bytes / 1024:.0f} KiB, "
             f"{verdict(fits_sram)} (peak at {html.escape(sim.peak_layer)})",
             f"flash: {flash / 1024:.1f} KiB (blob {sim.blob_bytes / 1024:.1f} KiB + runtime estimate "
             f"{sim.runtime_flash_bytes / 1024:.1f} KiB) of {sim.flash_budget_bytes / 1024:.0f} KiB, {verdict(fits_flash)}",
             f"estimated latency: {sim.latency_ms:.3f} ms ({sim.cycles:,.0f} cycles)"]
    if "accuracy_test" in metrics:
        items.append(f"top-1 accuracy on {metrics['n']} samples: float {100 * metrics['accuracy_reference']:.2f}%, "
                     f"int8 {100 * metrics['accuracy_test']:.2f}%")
    items.append(f"output SQNR int8 vs float: {metrics['sqnr_db']:.1f} dB "
                 f"(reference run by {html.escape(str(metrics.get('reference_runner', '?')))})")
    return "<ul id=\"summary\">" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def render(model, target, sim, graph, metrics, tradeoff_doc=None, plots=None) -> str:
    """The HTML page. plots: {"memory": png path, "tradeoff": png path}."""
    from tinycnn.explorer.report import table_rows
    plots = plots or {}
    parts = [f"<h1>tinycnn report: {html.escape(Path(model).name)} on {html.escape(target)}</h1>",
             f'<p class="note">generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by tinycnn; device numbers '
             "are firmware_sim estimates (arena plan, cycle model: docs/cycle-model.md)</p>",
             "<h2>Summary</h2>", _summary(sim, metrics, model, target),
             "<h2>Per-layer RAM / flash / latency</h2>",
             table("layers", layer_rows(sim, graph), LAYER_COLUMNS)]
    n_tables, n_plots = 1, 0
    if "memory" in plots:
        parts += ["<h2>Memory profile and latency per layer</h2>",
                  embed_png(plots["memory"], "plot-memory", "SRAM per layer and estimated latency per layer")]
        n_plots += 1
    parts += ["<h2>Validation: int8 vs float</h2>",
              f'<p class="note">{metrics["n"]} samples; reference {html.escape(Path(str(metrics["reference"])).name)} '
              f"run by {html.escape(str(metrics.get('reference_runner', '?')))}</p>",
              table("validation", _validation_rows(metrics), VALIDATION_COLUMNS)]
    n_tables += 1
    if metrics.get("per_layer"):
        parts += ["<h3>Per-layer SQNR (int8 vs float IR)</h3>",
                  table("per-layer-sqnr", metrics["per_layer"], [("name", "layer"), ("op", "op"), ("sqnr_db", "SQNR dB", 1)])]
        n_tables += 1
    if tradeoff_doc:
        rows = table_rows(tradeoff_doc["candidates"])
        parts += ["<h2>Trade-off</h2>",
                  f'<p class="note">{html.escape(tradeoff_doc["accuracy_metric"])} on {tradeoff_doc["split"]["test"]} '
                  f"held-back samples, sorted by {html.escape(tradeoff_doc['objective'])}; P = Pareto-optimal "
                  "(highlighted); docs/tradeoff.md</p>",
                  table("tradeoff", rows, TRADEOFF_COLUMNS, lambda r: "pareto" if r.get("pareto_mark") else "")]
        n_tables += 1
        if "tradeoff" in plots:
            parts.append(embed_png(plots["tradeoff"], "plot-tradeoff", "accuracy vs simulated latency per candidate"))
            n_plots += 1
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>tinycnn report: '
            f"{html.escape(Path(model).name)}</title><style>{CSS}</style><script>{SCRIPT}</script></head>\n"
            f'<body data-tables="{n_tables}" data-plots="{n_plots}">\n{body}\n</body></html>\n')


def result_from_json(doc: dict):
    """A TradeoffResult (for its plot) from a tradeoff JSON document."""
    from tinycnn.explorer.explore import TradeoffResult
    return TradeoffResult(doc["model"], doc["target"], doc["objective"], doc["candidates"],
                          [(s["candidate"], s["reason"]) for s in doc.get("skipped", [])], doc["accuracy_metric"],
                          doc["float_accuracy"], doc["split"], doc.get("mixed_precision"))


def build_report(model, data, calib, output, target="cortex-m4", clock_mhz=None, tradeoff_json=None,
                 run_tradeoff=True, max_samples=None, calib_samples=None, calibration="minmax",
                 progress=True, **tradeoff_kwargs) -> Path:
    """Convert ``model`` to int8 (calibrated on ``calib``), simulate it on ``target``, validate it
    against the float model on ``data``, add the trade-off table (from ``tradeoff_json``, or a
    tradeoff run unless run_tradeoff is False) and write the HTML page to ``output``."""
    import json

    import tinycnn
    from firmware_sim import simulate
    from firmware_sim.plot import plot_report
    from tinycnn.explorer.inputs import load_calib
    from tinycnn.fileio import atomic_write
    from tinycnn.runtime import load
    if Path(model).suffix.lower() == ".tcnn":
        raise TinyCNNError(f"{model}: report takes the float source model (.onnx, .keras, .h5, .tflite), "
                           "and converts it itself")
    with tempfile.TemporaryDirectory(prefix="tinycnn-report-") as tmp:
        tmp = Path(tmp)
        blob = tmp / (Path(model).stem + ".tcnn")
        tinycnn.convert(model, calib=load_calib(calib, calib_samples), output=blob, calibration=calibration)
        sim = simulate(blob, target, clock_mhz, check_budget=False, run=False)
        metrics = tinycnn.evaluate(blob, model, data, per_layer=True)
        plots = {"memory": plot_report(sim, tmp / "memory.png")}
        doc = None
        if tradeoff_json:
            try:
                doc = json.loads(Path(tradeoff_json).read_text())
                res = result_from_json(doc)
            except (OSError, ValueError, KeyError) as exc:
                raise TinyCNNError(f"{tradeoff_json}: cannot read a tradeoff JSON ({type(exc).__name__}: {exc})") from exc
        elif run_tradeoff:
            from tinycnn.explorer.explore import tradeoff
            res = tradeoff(model, data, calib, target=target, clock_mhz=clock_mhz, max_samples=max_samples,
                           calib_samples=calib_samples, progress=progress, **tradeoff_kwargs)
            doc = _jsonable(res.to_json())
        if doc is not None:
            plots["tradeoff"] = res.plot(tmp / "tradeoff.png")
        page = render(model, sim.target, sim, load(blob).graph, metrics, doc, plots)
    return atomic_write(output, page, "HTML report")
