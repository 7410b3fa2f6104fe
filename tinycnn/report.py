"""Metrics (top-1, agreement, RMSE, MAE, cosine, SQNR, per-layer SQNR), layer tables, and
evaluation of a blob against the float reference of its source model."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tinycnn.costs import node_macs, node_params, node_weight_bytes
from tinycnn.ir import Graph


# ---------------- metrics ----------------

def sqnr_db(reference, test) -> float:
    reference = np.asarray(reference, np.float64)
    noise = np.sum((reference - np.asarray(test, np.float64)) ** 2)
    signal = np.sum(reference ** 2)
    if noise == 0:
        return float("inf")
    return float(10 * np.log10(signal / noise)) if signal > 0 else float("-inf")


def compare_outputs(reference, test, labels=None) -> dict:
    r = np.asarray(reference, np.float64).reshape(len(reference), -1)
    t = np.asarray(test, np.float64).reshape(len(test), -1)
    cos = np.sum(r * t, axis=1) / np.maximum(np.linalg.norm(r, axis=1) * np.linalg.norm(t, axis=1), 1e-30)
    m = {"n": int(len(r)), "rmse": float(np.sqrt(np.mean((r - t) ** 2))),
         "mae": float(np.mean(np.abs(r - t))), "max_abs_error": float(np.max(np.abs(r - t))),
         "cosine": float(np.mean(cos)), "sqnr_db": sqnr_db(r, t)}
    if r.shape[1] > 1:
        m["top1_agreement"] = float(np.mean(r.argmax(1) == t.argmax(1)))
        if labels is not None:
            m["accuracy_reference"] = float(np.mean(r.argmax(1) == labels))
            m["accuracy_test"] = float(np.mean(t.argmax(1) == labels))
    return m


# ---------------- tables ----------------

def format_table(rows: list, columns: list, title: str | None = None) -> str:
    """rows: list of dicts; columns: list of (key, header)."""
    cells = [[h for _, h in columns]] + [[_fmt(r.get(k)) for k, _ in columns] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(columns))]
    lines = [title] if title else []
    for j, row in enumerate(cells):
        lines.append("  ".join(c.rjust(w) if j and _numeric(c) else c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _numeric(s):
    return s.replace(".", "", 1).replace("-", "", 1).replace(",", "").replace("%", "").isdigit()


def _fmt(v):
    if v is None:
        return ""
    if isinstance(v, float):
        if v != v or abs(v) == float("inf"):
            return str(v)
        return f"{v:.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (tuple, list)):
        return "x".join(str(d) for d in v)
    return str(v)


def describe(graph: Graph, blob_path=None) -> dict:
    """Per-layer rows and totals for `tinycnn info`."""
    rows = []
    for node in graph.nodes:
        out = graph.tensors[node.outputs[0]]
        wdt = ""
        if len(node.inputs) > 1 and node.inputs[1] and graph.tensors[node.inputs[1]].is_const:
            w = graph.tensors[node.inputs[1]]
            wdt = node.attrs.get("weight_bits_label") or w.dtype
            if w.quant is not None and w.quant.per_channel:
                wdt += "/ch"
        rows.append({"name": layer_label(node),
                     "op": node.op.value + (f"({node.attrs['source_op_type']})"
                                            if "source_op_type" in node.attrs else ""),
                     "source_op": node.attrs.get("source_op", ""),
                     "output_shape": list(out.shape[1:]), "dtype": out.dtype, "weights": wdt,
                     "params": node_params(graph, node), "macs": node_macs(graph, node),
                     "weight_bytes": node_weight_bytes(graph, node)})
    totals = {"layers": len(rows), "params": sum(r["params"] for r in rows),
              "macs": sum(r["macs"] for r in rows),
              "weight_bytes": sum(r["weight_bytes"] for r in rows)}
    if blob_path is not None:
        totals["blob_bytes"] = os.path.getsize(blob_path)
    return {"name": graph.name, "meta": graph.meta, "rows": rows, "totals": totals,
            "inputs": [_edge(graph, n, "input", i) for i, n in enumerate(graph.inputs)],
            "outputs": [_edge(graph, n, "output", i) for i, n in enumerate(graph.outputs)]}


def layer_label(node, width: int = 48) -> str:
    """The name a layer is shown under in every table (info, simulate, compare, eval
    --per-layer): its source-model name; long fused TFLite names ('a;b;c') cut to the first
    part and to ``width`` characters."""
    name = str(node.attrs.get("source_name", node.name)).split(";")[0]
    return name if len(name) <= width else "..." + name[-(width - 3):]


def _edge(graph: Graph, name: str, kind: str, idx: int):
    """(name, shape in the layout `run` takes/returns with N for the batch, dtype, quant, layout)."""
    from tinycnn.edges import interface_dtypes
    t = graph.tensors[name]
    layouts = graph.meta.get(f"{kind}_layouts", [])
    layout = layouts[idx] if idx < len(layouts) else "plain"
    dims = ["N" if d == -1 else int(d) for d in t.shape]
    if layout == "NCHW" and len(dims) == 4:
        dims = [dims[0], dims[3], dims[1], dims[2]]
    return (name, dims, t.dtype, t.quant.to_json() if t.quant else None, layout,
            interface_dtypes(graph, kind + "s")[idx])


INFO_COLUMNS = [("name", "layer"), ("op", "op"), ("output_shape", "output"), ("dtype", "dtype"),
                ("weights", "weights"), ("params", "params"), ("macs", "MACs"),
                ("weight_bytes", "bytes")]


def format_info(d: dict) -> str:
    meta = d["meta"]
    head = [f"model: {d['name']}   source: {meta.get('source_format', '?')} "
            f"({Path(meta.get('source_path', '?')).name})   scheme: {meta.get('scheme', 'float32')}"
            + (f"   calibration: {meta['calibration']}" if "calibration" in meta else "")]
    fixed = meta.get("fixed_input_shapes", {})
    for kind in ("inputs", "outputs"):
        for name, shape, dtype, q, *extra in d[kind]:
            qs = f" scale={q['scale'][0]:.6g} zero_point={q['zero_point'][0]}" if q else ""
            layout, iface = (extra + ["", dtype])[:2]
            lay = f" ({layout})" if layout not in ("plain", "") else ""
            if iface == "uint8" and dtype == "int8" and q:
                qs += f" (uint8 at the model's interface: zero_point={q['zero_point'][0] + 128})"
            elif iface == "float32" and dtype != "float32":
                how = "quantized" if kind == "inputs" else "dequantized"
                qs += f" (float32 at the model's interface: {how} at the edge)"
            head.append(f"{kind[:-1]}: {name} [{', '.join(str(x) for x in shape)}]{lay} {dtype}{qs}")
            if kind == "inputs" and name in fixed:
                f = fixed[name]
                head.append(f"  dynamic input {f['declared']} fixed to "
                            f"[{', '.join('N' if x == -1 else str(x) for x in f['shape'])}] from {f['from']}")
    t = d["totals"]
    foot = (f"total: {t['layers']} layers, {t['params']:,} params, {t['macs']:,} MACs/inference, "
            f"{t['weight_bytes']:,} bytes of weights" +
            (f", blob {t['blob_bytes']:,} bytes" if "blob_bytes" in t else ""))
    return "\n".join(head) + "\n\n" + format_table(d["rows"], INFO_COLUMNS) + "\n" + foot


# ---------------- evaluation ----------------

def run_reference(reference_path, x: np.ndarray) -> np.ndarray:
    """The source model's first output on x, as floats, computed in its own framework (see
    tinycnn/evaluation.py); integer outputs of a quantized .tflite are dequantized."""
    from tinycnn.evaluation import reference_outputs, tflite_interface
    ys, _ = reference_outputs(reference_path, [x], getattr(reference_path, "input_shapes", None) or None)
    y = np.asarray(ys[0])
    if y.dtype.kind in "iu":
        _, scale, zp = tflite_interface(reference_path, "outputs")[0]
        y = ((y.astype(np.float32) - zp) * np.float32(scale)).astype(np.float32)
    return y


def per_layer_sqnr(float_graph: Graph, quant_graph: Graph, x_nhwc: np.ndarray) -> list:
    """SQNR of every quantized activation against the same tensor in the float graph."""
    from tinycnn.reference.float_ops import run_float
    from tinycnn.runtime import Model
    fvals = run_float(float_graph, [x_nhwc], keep_all=True)
    model = Model(quant_graph)
    xq = model.quantize_input(x_nhwc)
    model.run_quantized([xq], batch_size=len(xq))
    plan = model.plan(len(xq))
    rows = []
    for node in quant_graph.nodes:
        name = node.outputs[0]
        if name not in fvals:
            continue
        q = quant_graph.tensors[name].quant
        deq = (plan.buffers[name].astype(np.float64) - q.zero_point[0]) * q.scale[0]
        rows.append({"name": layer_label(node), "op": node.op.value,
                     "sqnr_db": sqnr_db(fvals[name], deq)})
    return rows


def evaluate(blob_path, reference, data, per_layer=False, batch_size=256) -> dict:
    """The blob vs its source model run in its own framework: see tinycnn.evaluation."""
    from tinycnn.evaluation import evaluate as _evaluate
    return _evaluate(blob_path, reference, data, per_layer=per_layer, batch_size=batch_size)


def format_eval(m: dict) -> str:
    runner = m.get("reference_runner", "the reference")
    lines = [f"samples: {m['n']}   reference: {Path(str(m.get('reference', '?'))).name} run by {runner}"]
    outputs = m.get("outputs") or [m]
    for k, o in enumerate(outputs):
        pre = ""
        if len(outputs) > 1:
            lines.append(f"output {k} ({o.get('name', k)}):")
            pre = "  "
        float_ref = not str(m.get("reference", "")).lower().endswith(".tflite")
        lines += [pre + line for line in _format_output(o, "float reference" if float_ref else "reference")]
    if m.get("per_layer"):
        lines.append("")
        lines.append(format_table(m["per_layer"], [("name", "layer"), ("op", "op"), ("sqnr_db", "SQNR dB")],
                                  "per-layer SQNR (int8 vs float IR, first 64 samples):"))
    if m.get("per_layer_note"):
        lines.append(m["per_layer_note"])
    return "\n".join(lines)


def _format_output(o: dict, ref: str) -> list:
    lines = []
    if "accuracy_reference" in o:
        lines.append(f"top-1 accuracy   {ref}: {o['accuracy_reference']:.2%}   tinycnn: {o['accuracy_test']:.2%}   "
                     f"(drop {100 * (o['accuracy_reference'] - o['accuracy_test']):.2f} points)")
    if "top1_agreement" in o:
        lines.append(f"top-1 agreement with the {ref}: {o['top1_agreement']:.2%}")
    if o.get("kind") == "integer":
        lines.append(f"integer outputs compared with the interpreter's own (same raw inputs into both): "
                     f"{o['identical_fraction']:.2%} of values identical ({o['identical_samples']}/{o['n']} "
                     f"samples), max |diff| {o['max_abs_diff_lsb']} LSB, mean {o['mean_abs_diff_lsb']:.3g} LSB")
    elif o["rmse"] == 0:
        lines.append("outputs identical to the reference's, bit for bit")
    else:
        lines.append(f"output SQNR: {o['sqnr_db']:.1f} dB   cosine: {o['cosine']:.5f}   RMSE: {o['rmse']:.4g}   "
                     f"MAE: {o['mae']:.4g}   max |err|: {o['max_abs_error']:.4g}")
    return lines
