"""Layer-by-layer comparison of tinycnn against the TFLite reference interpreter.

For a .tflite model, tinycnn imports it (converters.tflite), runs it with its own kernels
(an ExecutionPlan keeps every activation buffer) and runs the reference interpreter with all
intermediate tensors preserved: TFLite Micro, or tflite-runtime's BUILTIN_REF kernels for
models TFLM cannot run (legacy uint8). Every IR tensor that carries a TFLite tensor index is
compared; differences are reported in LSB (quantized models) or absolute units (float models).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinycnn.errors import TinyCNNError
from tinycnn.ir import DTYPES, Graph


@dataclass
class LayerDiff:
    layer: str
    op: str
    tensor_index: int
    max_abs_diff: float = 0.0
    n_diff: int = 0
    n_total: int = 0


@dataclass
class Comparison:
    reference: str  # "tflm" | "tflite_ref"
    unit: str  # "LSB" | "abs"
    layers: list = field(default_factory=list)
    samples: int = 0

    @property
    def first_difference(self) -> LayerDiff | None:
        return next((row for row in self.layers if row.n_diff), None)

    @property
    def identical(self) -> bool:
        return self.first_difference is None


def _reference_run(model_path, x_ref, reference):
    from tinycnn.oracles import tflite_ref, tflm
    if reference in ("auto", "tflm"):
        try:
            return "tflm", tflm.run_with_intermediates(model_path, x_ref)
        except (RuntimeError, ValueError) as exc:
            if reference == "tflm":
                raise TinyCNNError(f"{model_path}: TFLite Micro cannot run this model: {exc}") from exc
    if not tflite_ref.available():
        raise TinyCNNError(f"{model_path}: TFLite Micro cannot run this model and no tflite-runtime "
                           f"reference python was found ({tflite_ref.INSTALL_HINT})")
    return "tflite_ref", tflite_ref.run_with_intermediates(model_path, x_ref)


def _inputs(graph: Graph, x: np.ndarray):
    """One sample -> (tinycnn's blob input, the reference interpreter's input). The rule of
    tinycnn/edges.py: the model's raw input dtype goes in unchanged, float is quantized as
    TFLite's QUANTIZE does, anything else is an error."""
    from tinycnn import edges
    from tinycnn.runtime import Model
    t = graph.tensors[graph.inputs[0]]
    shape = (1,) + tuple(t.shape[1:])
    x = np.asarray(x)
    if x.size != int(np.prod(shape)):
        raise TinyCNNError(f"input sample has {x.size} values; the model expects shape {shape[1:]}")
    x = x.reshape(shape)
    if t.dtype == "float32":
        if x.dtype.kind != "f":
            raise TinyCNNError(f"input has dtype {x.dtype}; this float model takes float32 inputs")
        xf = x.astype(np.float32)
        return xf, xf
    model = Model(graph)
    if model._is_raw(x, 0):  # raises on a dtype that is neither float nor the raw dtype
        return edges.raw_to_blob(graph, x, 0), x
    xq = model.quantize_input(x.astype(np.float32))
    iface = edges.interface_dtypes(graph, "inputs")[0]
    if np.dtype(iface).kind == "f":
        return xq, x.astype(np.float32)
    if iface == "uint8":
        return xq, (xq.astype(np.int16) + 128).astype(np.uint8)
    return xq, xq


def compare_tflite(model_path, x: np.ndarray, reference: str = "auto", graph: Graph | None = None,
                   max_samples: int | None = None) -> Comparison:
    """Compare every layer of tinycnn's run of ``model_path`` with the reference interpreter.

    x: a batch of inputs (float in the model's layout, or int8/uint8 raw values for quantized
    models). ``graph`` may be given to compare an already-imported (e.g. modified) graph."""
    from converters import load_model as load_tflite  # checked path + one-line errors
    from tinycnn.reference.float_ops import run_float
    from tinycnn.report import layer_label
    from tinycnn.runtime import ExecutionPlan

    graph = graph if graph is not None else load_tflite(model_path)
    index = graph.meta.get("tflite_tensor_index", {})
    quantized = graph.meta.get("scheme") in ("int8", "int16x8")
    x = np.asarray(x)
    in_rank = len(graph.tensors[graph.inputs[0]].shape)
    if x.ndim < in_rank:
        x = x[None]
    n = len(x) if max_samples is None else min(len(x), max_samples)
    plan = ExecutionPlan(graph, 1) if quantized else None
    rows, ref_name = {}, "tflm"
    for node in graph.nodes:
        out = node.outputs[0]
        if out in index:
            rows[out] = LayerDiff(layer_label(node),
                                  node.attrs.get("tflite_op", node.op.value), index[out])
    for s in range(n):
        ours_in, ref_in = _inputs(graph, x[s])
        if quantized:
            np.copyto(plan.buffers[graph.inputs[0]], ours_in.astype(DTYPES[graph.tensors[graph.inputs[0]].dtype]))
            plan.run()
            values = plan.buffers
        else:  # float models run on the float reference
            values = run_float(graph, [ours_in], keep_all=True)
        ref_name, ref = _reference_run(model_path, ref_in, reference)
        for name, row in rows.items():
            r = ref.get(row.tensor_index)
            if r is None:
                continue
            ours = values[name]
            r = np.asarray(r)
            if r.dtype == np.uint8 and graph.meta.get("tflite_uint8"):
                r = r.astype(np.int16) - 128
            if r.size != ours.size:
                raise TinyCNNError(f"tensor {row.tensor_index} ('{row.layer}'): reference has "
                                   f"{r.size} values, tinycnn {ours.size}")
            d = np.abs(ours.astype(np.float64).reshape(-1) - r.astype(np.float64).reshape(-1))
            tol = 0.0 if quantized else 1e-5 * max(1.0, float(np.abs(r).max(initial=0.0)))
            row.max_abs_diff = max(row.max_abs_diff, float(d.max(initial=0.0)))
            row.n_diff += int((d > tol).sum())
            row.n_total += int(d.size)
    layers = [rows[node.outputs[0]] for node in graph.nodes if node.outputs[0] in rows]
    return Comparison(ref_name, "LSB" if quantized else "abs", layers, n)


def format_comparison(c: Comparison) -> str:
    from tinycnn.report import format_table
    rows = [{"layer": r.layer, "op": r.op,
             "diff": f"{int(r.max_abs_diff)}" if c.unit == "LSB" else f"{r.max_abs_diff:.3g}",
             "n": f"{r.n_diff}/{r.n_total}"} for r in c.layers]
    table = format_table(rows, [("layer", "layer"), ("op", "op"), ("diff", f"max |Δ| ({c.unit})"),
                                ("n", "# differing")])
    first = c.first_difference
    tail = (f"first differing layer: {first.layer} ({first.op}, tensor {first.tensor_index})"
            if first else ("all layers identical" if c.unit == "LSB"
                           else "all layers agree within float tolerance (1e-5 relative)"))
    return f"reference: {c.reference}, {c.samples} sample(s)\n{table}\n{tail}"
