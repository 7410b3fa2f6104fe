"""The result of a simulation: budgets, arena plan, per-layer profile and cycle estimate."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from tinycnn.report import format_table

ESTIMATE_NOTE = ("cycles and latency are ESTIMATES ({basis}) on {core} (see docs/cycle-model.md); flash runtime size is an estimate; SRAM: 'planned' is "
                 "tinycnn's own arena plan (activations + per-op scratch, in-place ops, 16-byte aligned), "
                 "'TFLM' is a model of the arena TensorFlow Lite Micro would need (no in-place ops, kernel "
                 "scratch, its persistent structures; within ~5-7% of the tflite-micro package on our "
                 "fixtures, docs/cycle-model.md).")


@dataclass
class SimulationReport:
    blob_path: str
    target: str
    core: str
    library: str
    kernels: str
    clock_mhz: float
    peak_sram_bytes: int  # arena: activations + scratch as planned
    naive_sram_bytes: int  # every buffer separate
    sram_budget_bytes: int
    peak_layer: str
    blob_bytes: int
    runtime_flash_bytes: int  # estimate, stated separately
    flash_budget_bytes: int
    cycles: int
    latency_ms: float
    rows: list  # per layer dicts
    op_order_changed: bool = False
    matches_cpu: bool | None = None  # device outputs == CPU runtime outputs, bit for bit
    input_source: str = ""
    run_note: str = ""  # why the host arena check was skipped (float32 blobs), if it was
    row_nodes: list = field(default_factory=list, repr=False)  # graph node name of each row
    emulation: dict | None = None  # simulate --emulate: firmware_sim.emulate's to_json() (QEMU-measured)
    outputs: list = field(default_factory=list, repr=False)  # float outputs (source layout)
    outputs_q: list = field(default_factory=list, repr=False)  # quantized outputs (NHWC)
    tflm_sram_bytes: int | None = None  # arena TFLM would need (firmware_sim.tflm_arena); None for float
    budget: object = field(default=None, repr=False)  # firmware_sim.budget.Budget
    budget_checked: bool = True  # False: --no-budget (exploration), no FAIL line
    weights_placement: str = ""  # where the target reads weights from (firmware_sim.memory_cost)
    latency_basis: str = ""  # what the latency figure rests on (measured / fitted / analytical)
    latency_error: float | None = None  # whole-model error bound of that basis (fraction), if measured

    @property
    def flash_bytes(self) -> int:
        return self.blob_bytes + self.runtime_flash_bytes

    @property
    def note(self) -> str:
        return ESTIMATE_NOTE.format(basis=self.latency_basis or f"analytical model of {self.library}", core=self.core)

    def to_json(self) -> dict:
        skip = {"outputs", "outputs_q", "row_nodes", "budget"}
        d = {k: v for k, v in self.__dict__.items() if k not in skip}
        if self.budget is not None:
            d["sram_needed_bytes"] = self.budget.sram_needed
            d["fits"] = self.budget.fits
            d["budget_problems"] = list(self.budget.problems)
        d["flash_bytes"] = self.flash_bytes
        d["estimate_note"] = self.note
        return d

    def save_json(self, path) -> Path:
        path = Path(path)
        from tinycnn.fileio import atomic_write
        atomic_write(path, json.dumps(self.to_json(), indent=1), "report JSON")
        return path

    def format(self) -> str:
        cols = [("layer", "layer"), ("op", "op"), ("dtype", "dtype"), ("kernel", "kernel"),
                ("shape", "output shape"),
                ("macs", "MACs"), ("sram_live_bytes", "SRAM live B"), ("cycles", "est. cycles"),
                ("share", "share")]
        if self.emulation:  # measured on the emulated board, beside the estimate
            cols.insert(cols.index(("cycles", "est. cycles")) + 1, ("instructions", "measured insns"))
        rows = [dict(r, dtype=r.get("dtype", ""), shape="x".join(str(d) for d in r["shape"]),
                     share=f"{100 * r['share']:.1f}%")
                for r in self.rows]
        stack = {"naive": "TFLM reference C kernels", "tflm-reference": "TFLM reference C kernels",
                 "tinycnn-c": "tinycnn C runtime"}.get(self.kernels, f"TFLM + {self.library}")
        head = [f"target {self.target}: {self.core} @ {self.clock_mhz:g} MHz, kernels: {stack}",
                f"SRAM  planned arena {_kib(self.peak_sram_bytes)} (peak at {self.peak_layer}; no reuse would "
                f"need {_kib(self.naive_sram_bytes)})"
                + ("; op order rearranged to lower the peak" if self.op_order_changed else "")
                + (f"; TFLM would need {_kib(self.tflm_sram_bytes)}" if self.tflm_sram_bytes else
                   ("; TFLM figure not computed for the tinycnn-c stack" if self.kernels == "tinycnn-c" else "")),
                *self._budget_lines(),
                f"flash {_kib(self.flash_bytes)} of {_kib(self.flash_budget_bytes)} "
                f"(blob {_kib(self.blob_bytes)} + runtime estimate {_kib(self.runtime_flash_bytes)})"
                + (f"; {self.weights_placement}" if self.weights_placement else ""),
                f"latency ~{sig2(self.latency_ms)} ms"
                + (f" +-{100 * self.latency_error:.0f}%" if self.latency_error is not None else "")
                + f", ~{sig2(self.cycles)} cycles ({self.latency_basis or 'estimate'})"]
        if self.matches_cpu is not None:
            head.append(f"arena check on the host ({self.input_source}; Python kernels on the planned arena): "
                        "outputs " + ("identical to the CPU runtime, bit for bit" if self.matches_cpu
                                      else "DIFFER from the CPU runtime"))
        if self.emulation:
            e = self.emulation
            head.append(f"emulated {e['target']} ({e['machine']}, QEMU): {e['instructions']:,} instructions measured, "
                        f"flash {_kib(e['flash_bytes'])}, static RAM {_kib(e['ram_bytes'])} (real build), outputs "
                        + ("bit-identical" if e["matches_cpu"] else "DIFFER"))
        if self.run_note:
            head.append(self.run_note)
        if self.budget is not None and self.budget_checked:
            head += self.budget.lines()
        return "\n".join(head) + "\n\n" + format_table(rows, cols) + "\n\nnote: " + self.note


    def _budget_lines(self) -> list:
        b = self.budget
        if b is None:
            return [f"SRAM budget {_kib(self.sram_budget_bytes)}"]
        check = "" if self.budget_checked else " (budget not checked: --no-budget)"
        return [f"SRAM  needs {_kib(b.sram_needed)} of {_kib(b.sram_budget)} "
                f"({100 * b.sram_needed / b.sram_budget:.1f}%: {b.sram_detail}){check}"]


def sig2(x) -> str:
    """Two significant digits (3.4, 0.28, 110, 1,200,000): the precision the models support."""
    if not x:
        return "0"
    digits = 1 - int(math.floor(math.log10(abs(x))))
    v = round(x, digits)
    return f"{v:,.{max(digits, 0)}f}"


def _kib(n) -> str:
    return f"{n / 1024:.1f} KiB"
