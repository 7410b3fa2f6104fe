"""simulate(blob, target): plan the arena, check the budgets, run on the arena, estimate cycles."""
from __future__ import annotations

import os

import numpy as np

from firmware_sim.cycles import cycles_to_ms, dtype_class, graph_cycles
from firmware_sim import budget as budgets, tinycnn_c
from firmware_sim.device import Device, plan_memory
from firmware_sim.kernel_scratch import stack_scratch
from firmware_sim.memory_cost import describe as describe_memory, sram_weight_bytes, stall_cycles
from firmware_sim.memory_plan import plan_graph, search_order
from firmware_sim.report import SimulationReport
from firmware_sim.targets import get_target
from firmware_sim.tflm_arena import tflm_arena
from tinycnn.costs import node_macs
from tinycnn.errors import TinyCNNError
from tinycnn.report import layer_label
from tinycnn.ir import DTYPES


def flash_estimate(graph, target) -> int:
    """Runtime code estimate: the target's base runtime + one kernel per distinct op kind."""
    return target.runtime_flash_bytes + target.kernel_flash_bytes * len({n.op for n in graph.nodes})


FLOAT_RUN_NOTE = ("device run skipped: float32 graphs run through the NumPy float reference, not the "
                  "arena-bound ExecutionPlan, so there is no arena run to check")


def float_plan(graph, in_place=True, order_search=True):
    """Arena plan of a float32 graph: every activation at float32 size (no per-op scratch: the
    float reference kernels allocate none)."""
    sizes = {}
    for name in list(graph.inputs) + [o for n in graph.nodes for o in n.outputs]:
        t = graph.tensors[name]
        sizes[name] = int(np.prod(t.concrete_shape(1))) * np.dtype(DTYPES[t.dtype]).itemsize
    if order_search:
        return search_order(graph, sizes, in_place=in_place)
    return plan_graph(graph, sizes, in_place=in_place)


def random_inputs(graph, seed=0) -> list:
    rng = np.random.default_rng(seed)
    xs = []
    for name in graph.inputs:
        t = graph.tensors[name]
        info = np.iinfo(DTYPES[t.dtype])
        xs.append(rng.integers(info.min, info.max + 1, t.concrete_shape(1)).astype(DTYPES[t.dtype]))
    return xs


def simulate(blob_path, target="cortex-m4", clock_mhz=None, inputs=None, target_file=None,
             kernels="cmsis-nn", in_place=True, order_search=True, check_budget=True,
             run=True, emulate=False, progress=None) -> SimulationReport:
    """Simulate a .tcnn blob on a target.

    inputs: arrays in the source model's layout (one per model input; a batch is run one
    sample at a time): float (quantized at the edge) or the model's raw integer dtype, or None for
    one seeded random int8 input. Raises BudgetExceededError if the stack's arena + the target's
    stack reserve or flash does not fit (unless check_budget=False); the exception carries the
    full report as ``.report``. float32 blobs are planned on
    float32 buffer sizes and costed with the float32 cycle class; their device run is skipped
    (``report.run_note`` says why). emulate=True also runs the firmware on the target's core under
    QEMU (firmware_sim.emulate) and adds each layer's measured instructions to its row."""
    import tinycnn

    tgt = get_target(target, target_file, clock_mhz)
    model = tinycnn.load(blob_path)
    graph = model.graph
    if model.quantized:
        plan = plan_memory(graph, in_place=in_place, order_search=order_search)
    else:
        plan = float_plan(graph, in_place=in_place, order_search=order_search)
    blob_bytes = os.path.getsize(blob_path)
    runtime_bytes = flash_estimate(graph, tgt)
    tflm = tflm_arena(graph, stack_scratch(graph, kernels, tgt.cmsis_nn_backend)) \
        if model.quantized and kernels != "tinycnn-c" else None
    by_name = {n.name: n for n in graph.nodes}
    nodes = [by_name[name] for name in plan.order]
    aliased = {t for t, (_, how) in plan.shared.items() if how == "alias"}
    if kernels == "tinycnn-c":
        if not model.quantized:
            raise TinyCNNError(f"{blob_path}: --kernels tinycnn-c runs int8 blobs only (the C runtime has no float path)")
        est = tinycnn_c.layer_cycles(graph, nodes, tgt)
    else:
        est = graph_cycles(graph, nodes, tgt, kernels, aliased)
    total = sum(c for c, _ in est)
    rows = []
    for i, (n, (cyc, what)) in enumerate(zip(nodes, est)):
        out = graph.tensors[n.outputs[0]]
        rows.append({"layer": layer_label(n), "op": n.op.value, "source": n.attrs.get("source_name", ""),
                     "kernel": what, "dtype": dtype_class(graph, n),
                     "shape": list(out.concrete_shape(1)), "macs": node_macs(graph, n),
                     "sram_live_bytes": plan.live_bytes[i], "arena_high_bytes": plan.high_water[i],
                     "cycles": cyc, "share": cyc / total if total else 0.0,
                     "ms": cycles_to_ms(cyc, tgt.clock_mhz),
                     "memory": plan.shared.get(n.outputs[0], ("", ""))[1],
                     "weight_wait_cycles": int(round(stall_cycles(graph, n, tgt)))})
    report = SimulationReport(
        blob_path=str(blob_path), target=tgt.name, core=tgt.core, library=tgt.library, kernels=kernels,
        clock_mhz=tgt.clock_mhz, peak_sram_bytes=plan.arena_bytes, naive_sram_bytes=plan.naive_bytes,
        sram_budget_bytes=tgt.sram_bytes, peak_layer=layer_label(by_name[plan.order[plan.peak_step]]) if plan.order else "",
        blob_bytes=blob_bytes, runtime_flash_bytes=runtime_bytes, flash_budget_bytes=tgt.flash_bytes,
        cycles=total, latency_ms=cycles_to_ms(total, tgt.clock_mhz), rows=rows,
        op_order_changed=plan.order != [n.name for n in graph.nodes], row_nodes=[n.name for n in nodes],
        tflm_sram_bytes=tflm.arena_bytes if tflm else None)
    if tflm is not None:  # the TFLM-based stacks run from TFLM's arena
        arena, what = tflm.arena_bytes, f"TFLM arena ({'CMSIS-NN' if kernels == 'cmsis-nn' else 'reference'} kernels)"
    else:
        arena, what = plan.arena_bytes, "planned arena"
    report.weights_placement = describe_memory(tgt)
    report.budget = budgets.check(tgt, arena, what, report.peak_layer, report.flash_bytes,
                                  f"blob {budgets.kib(blob_bytes)} + runtime estimate {budgets.kib(runtime_bytes)}",
                                  weights_in_sram=sram_weight_bytes(graph, tgt))
    report.budget_checked = bool(check_budget)
    if check_budget:
        budgets.raise_if_over(report.budget, report)
    if run and not model.quantized:
        report.run_note = FLOAT_RUN_NOTE
    elif run:
        _run(model, plan, inputs, report)
    report.latency_basis, report.latency_error = _latency_basis(kernels, tgt)
    if emulate:
        _emulate(blob_path, tgt, inputs, report, progress)
        if kernels == "tinycnn-c":  # measured instructions x CPI replace the fitted model
            measured = tinycnn_c.measured_cycles(report.emulation, graph, nodes, tgt)
            for row, cyc in zip(report.rows, measured):
                row["cycles"], row["ms"] = cyc, cycles_to_ms(cyc, tgt.clock_mhz)
            report.cycles = sum(measured)
            report.latency_ms = cycles_to_ms(report.cycles, tgt.clock_mhz)
            for row in report.rows:
                row["share"] = row["cycles"] / report.cycles if report.cycles else 0.0
            report.latency_basis = ("QEMU-measured instructions x cycles-per-instruction model "
                                    f"({tinycnn_c.stack_core(tgt)}, firmware_sim/cpi.py)")
            report.latency_error = None
    return report


def _device_input(model, x, idx):
    """tinycnn/edges.py's rule: the model's raw integer dtype goes in unchanged, float is quantized."""
    from tinycnn import edges
    if model._is_raw(x, idx):
        return edges.raw_to_blob(model.graph, model._to_nhwc(x, idx, keep_dtype=True), idx)
    return model.quantize_input(model._to_nhwc(x, idx), idx)


def _latency_basis(kernels, tgt) -> tuple:
    """(what the latency rests on, its whole-model error bound or None)."""
    if kernels == "tinycnn-c":
        err = tinycnn_c.model_error(tinycnn_c.stack_core(tgt))
        if err:
            return (f"fitted to QEMU-measured instructions x CPI; whole-model error of that fit on "
                    f"{err['models']} held-out models up to {100 * err['whole_max']:.0f}%", err["whole_max"])
        return "fitted to QEMU-measured instructions x CPI; error not measured (one calibration model)", None
    return ("analytical model of the kernels; not checked against measured runs "
            "(docs/cycle-model.md: expect +-50% for a whole model)"), None


def _emulate(blob_path, tgt, inputs, report, progress):
    import re

    from firmware_sim.emulate import TARGETS, emulate
    core = re.search(r"cortex-m(\d+)", f"{tgt.name} {tgt.core}", re.IGNORECASE)
    name = f"cortex-m{core.group(1)}" if core else ""
    if name not in TARGETS:
        raise TinyCNNError(f"target {tgt.name}: no emulated board for its core ({tgt.core}); "
                           f"--emulate supports {', '.join(TARGETS)}")
    r = emulate(blob_path, name, inputs=inputs, progress=progress)
    report.emulation = {k: v for k, v in r.to_json().items() if k != "outputs"}
    by_label = {layer["name"]: layer["instructions"] for layer in r.layers}
    for row, node_name in zip(report.rows, report.row_nodes):
        row["instructions"] = by_label.get(node_name, "")


def _run(model, plan, inputs, report):
    if inputs is None:
        xs_q = random_inputs(model.graph)
        report.input_source = "one seeded random int8 input"
    else:
        inputs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        if len(inputs) != len(model.graph.inputs):
            raise TinyCNNError(f"{report.blob_path}: the model has {len(model.graph.inputs)} input(s), "
                               f"got {len(inputs)}")
        xs_q = [_device_input(model, x, i) for i, x in enumerate(inputs)]
        raw = " raw" if all(np.asarray(x).dtype.kind in "iu" for x in inputs) else ""
        report.input_source = f"{len(xs_q[0])} given{raw} input sample(s)"
    device = Device(model.graph, plan)
    ys_q = device.run_quantized(xs_q)
    cpu = model.run_quantized(xs_q)
    report.matches_cpu = all(np.array_equal(a, b) for a, b in zip(ys_q, cpu))
    report.outputs_q = ys_q
    report.outputs = [model._from_nhwc(model.dequantize_output(y, i), i) for i, y in enumerate(ys_q)]
