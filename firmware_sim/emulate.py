"""Run a blob as firmware on an emulated Cortex-M board and measure it (`tinycnn emulate`).

The blob is exported as a C project (firmware_sim/export_c.py: the C runtime, the model as a const
array, firmware_sim/c_runtime/boards), built with arm-none-eabi-gcc for the target core and run on
qemu-system-arm's model of an Arm MPS2/MPS3 board (TARGETS below), with semihosting for files:
the board reads in.bin, writes out.bin (the outputs) and layers.txt (SysTick ticks per op, arena
high-water). Instruction counts are exact: QEMU runs with ``-icount shift=0`` and a TCG plugin
(c_runtime/boards/plugin/tcnn_insn_plugin.c, built with the host C compiler) counts every executed
instruction by class, snapshotting its counters whenever the firmware's layer marker
(board_mark(), called right before and right after each op) runs. The SysTick figures cross-check
the plugin: ``instructions_per_tick`` is measured, not assumed (40 on the 25 MHz MPS2 boards:
QEMU's virtual clock advances 1 ns per instruction under -icount shift=0).

Stable API (consumed by firmware_sim's simulate --emulate and by benchmarks/bench_instructions.py):

    from firmware_sim.emulate import emulate, TARGETS
    r = emulate("model.tcnn", "cortex-m4", inputs=None, workdir=None, progress=None, timeout=600)
    r.outputs            # list of arrays, one per graph output, the model's own (raw) dtypes,
                         # source layout, one row per input sample
    r.layers             # list of dicts, one per op (first sample): index, op, name, macs,
                         # instructions (exact, plugin), ticks (SysTick), classes {load, store,
                         # mul, dsp_mac, simd, branch, mve, fp, other} (sum == instructions)
    r.instructions       # total over the ops of the first sample (each op's count includes the
                         # ~50 instructions of the layer hook around it)
    r.instructions_per_sample, r.instructions_per_tick, r.matches_cpu (vs tinycnn's runtime)
    r.sizes              # {"text", "rodata", "data", "bss"} bytes from arm-none-eabi-size; r.flash_bytes,
                         # r.ram_bytes (data + bss: arena and statics; the stack is extra)
    r.arena_bytes, r.arena_high_water   # the static arena and what the runtime touched
    r.to_json()          # all of the above (outputs as lists) for --json

``inputs``: None (one random raw input), an array or a list of arrays (one per graph input): float
values are quantized at the edge as `tinycnn run` does, integers of the model's raw input dtype go
in unchanged. Errors (missing tools, build or run failure) are TinyCNNError with one line; a
missing tool names its Debian package.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinycnn.errors import TinyCNNError

# target -> QEMU machine (the board Makefile's machine_* table; tests check they agree)
TARGETS = {"cortex-m0": "mps2-an385", "cortex-m3": "mps2-an385", "cortex-m4": "mps2-an386",
           "cortex-m7": "mps2-an500", "cortex-m33": "mps2-an505", "cortex-m55": "mps3-an547"}
CLASSES = ("load", "store", "mul", "dsp_mac", "simd", "branch", "mve", "fp", "other")
CROSS = "arm-none-eabi-"
QEMU = "qemu-system-arm"


def check_tools() -> None:
    """One-line error naming the Debian package of the first missing tool."""
    for tool, package in ((f"{CROSS}gcc", "gcc-arm-none-eabi"), (QEMU, "qemu-system-arm"), ("make", "make"),
                          ("cc", "gcc")):
        if not shutil.which(tool):
            raise TinyCNNError(f"emulate needs {tool}: install the Debian package {package} "
                               f"(apt-get install {package}, or make firmware-tools)")
    lib = subprocess.run([f"{CROSS}gcc", "-print-file-name=libc_nano.a"], capture_output=True, text=True).stdout.strip()
    if not Path(lib).is_file():
        raise TinyCNNError("emulate needs newlib for arm-none-eabi (libc_nano.a): install the Debian package "
                           "libnewlib-arm-none-eabi (apt-get install libnewlib-arm-none-eabi, or make firmware-tools)")


@dataclass
class EmulationResult:
    target: str
    machine: str
    outputs: list
    layers: list
    instructions_per_sample: list
    instructions_per_tick: float
    sizes: dict
    arena_bytes: int
    arena_high_water: int
    matches_cpu: bool | None = None
    notes: list = field(default_factory=list)

    @property
    def instructions(self) -> int:
        return sum(layer["instructions"] for layer in self.layers)

    @property
    def flash_bytes(self) -> int:
        return self.sizes["text"] + self.sizes["rodata"] + self.sizes["data"]

    @property
    def ram_bytes(self) -> int:
        return self.sizes["data"] + self.sizes["bss"]

    def to_json(self) -> dict:
        return {"target": self.target, "machine": self.machine, "instructions": self.instructions,
                "instructions_per_sample": self.instructions_per_sample,
                "instructions_per_tick": self.instructions_per_tick, "layers": self.layers,
                "sizes": self.sizes, "flash_bytes": self.flash_bytes, "ram_bytes": self.ram_bytes,
                "arena_bytes": self.arena_bytes, "arena_high_water": self.arena_high_water,
                "matches_cpu": self.matches_cpu, "outputs": [o.tolist() for o in self.outputs]}


def _device_inputs(model, inputs) -> tuple:
    """-> (blob-dtype NHWC arrays, raw?) as Model.run converts them."""
    from tinycnn import edges
    g = model.graph
    if inputs is None:
        rng = np.random.default_rng(0)
        xs = []
        for name in g.inputs:
            t = g.tensors[name]
            info = np.iinfo(t.dtype)
            xs.append(rng.integers(info.min, info.max + 1, (1,) + tuple(t.shape[1:])).astype(t.dtype))
        return xs, True
    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    model._check_inputs(inputs)
    raw = [model._is_raw(x, i) for i, x in enumerate(inputs)]
    if any(raw) and not all(raw):
        raise TinyCNNError("give every input raw (integer) or every input as float, not a mix")
    xs = [model._to_nhwc(x, i, keep_dtype=r) for i, (x, r) in enumerate(zip(inputs, raw))]
    if raw[0]:
        return [edges.raw_to_blob(g, x, i) for i, x in enumerate(xs)], True
    return [model.quantize_input(x, i) for i, x in enumerate(xs)], False


def _run(cmd, what, cwd, timeout):
    try:
        r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TinyCNNError(f"{what}: no result after {timeout} s") from None
    if r.returncode != 0:
        tail = (r.stderr.strip() or r.stdout.strip()).splitlines()[-1:] or [f"exit code {r.returncode}"]
        raise TinyCNNError(f"{what} failed: {tail[0]}")
    return r


def _read_sizes(proj, target) -> dict:
    sizes = {"text": 0, "rodata": 0, "data": 0, "bss": 0}
    for line in (proj / "build" / target / "size.txt").read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(".") and parts[1].isdigit():
            key = {".text": "text", ".ARM.exidx": "rodata", ".rodata": "rodata", ".data": "data", ".bss": "bss"}
            if parts[0] in key:
                sizes[key[parts[0]]] += int(parts[1])
    return sizes


def _parse_counts(proj, n_ops, n_samples):
    """insns.txt (plugin) and layers.txt (firmware) -> per-sample per-op class counts and ticks."""
    marks = [list(map(int, line.split()[2:])) for line in (proj / "insns.txt").read_text().splitlines()
             if line.startswith("mark ")]
    if len(marks) != 2 * n_ops * n_samples:
        raise TinyCNNError(f"instruction counter: {len(marks)} layer marks, expected {2 * n_ops * n_samples}")
    marks = np.array(marks, np.int64).reshape(n_samples, n_ops, 2, len(CLASSES))
    per_op = marks[:, :, 1] - marks[:, :, 0]
    ticks = np.zeros((n_samples, n_ops), np.int64)
    text = (proj / "layers.txt").read_text().splitlines()
    for line in text:
        if line.startswith("ticks "):
            _, s, i, t = line.split()
            ticks[int(s), int(i)] = int(t)
    hw = next((line.split() for line in text if line.startswith("arena ")), None)
    if hw is None:
        raise TinyCNNError("the firmware did not report its arena high-water (layers.txt incomplete)")
    return per_op, ticks, int(hw[1]), int(hw[3])


def emulate(blob_path, target="cortex-m4", inputs=None, workdir=None, progress=None, timeout=600,
            compare=True) -> EmulationResult:
    """Build the blob's firmware for ``target``, run it under QEMU, return outputs and counts."""
    import tinycnn
    from firmware_sim.export_c import export_project

    if target not in TARGETS:
        raise TinyCNNError(f"unknown emulation target '{target}': {', '.join(TARGETS)}")
    say = progress or (lambda msg: None)
    check_tools()
    model = tinycnn.load(blob_path)
    if not model.quantized:
        raise TinyCNNError(f"{blob_path}: a float32 blob has no C runtime path; convert it to int8 first")
    xs, raw = _device_inputs(model, inputs)
    n = len(xs[0])
    own = workdir is None
    root = Path(tempfile.mkdtemp(prefix="tcnn_emulate_")) if own else Path(workdir)
    try:
        say(f"exporting the C project to {root}")
        proj = export_project(blob_path, root)
        machine = TARGETS[target]
        say(f"building for {target} with {CROSS}gcc and the instruction-count plugin with cc")
        _run(["make", "-s", f"TARGET={target}", f"build/{target}/model.elf", "plugin"], f"build for {target}",
             proj, timeout)
        elf = proj / "build" / target / "model.elf"
        nm = _run([f"{CROSS}nm", str(elf)], "nm", proj, 60).stdout.split()
        mark = nm[nm.index("board_mark") - 2]
        (proj / "in.bin").write_bytes(b"".join(x[k].tobytes() for k in range(n) for x in xs))
        for stale in ("out.bin", "layers.txt", "insns.txt"):
            (proj / stale).unlink(missing_ok=True)
        say(f"running {n} sample(s) on {QEMU} -M {machine} (-icount shift=0, semihosting)")
        _run([QEMU, "-M", machine, "-nographic", "-monitor", "none", "-serial", "null", "-icount", "shift=0",
              "-semihosting-config", "enable=on,target=native",
              "-plugin", f"build/plugin/tcnn_insn_plugin.so,mark=0x{mark},out=insns.txt", "-kernel", str(elf)],
             f"{QEMU} -M {machine}", proj, timeout)
        g = model.graph
        per_op, ticks, arena, high_water = _parse_counts(proj, len(g.nodes), n)
        flat = np.fromfile(proj / "out.bin", np.uint8)
        sizes = _read_sizes(proj, target)
    finally:
        if own:
            shutil.rmtree(root, ignore_errors=True)
    outputs = _split_outputs(model, flat, n)
    matches = None
    if compare:
        want = model.run_quantized(xs)
        matches = all(np.array_equal(a, b) for a, b in zip(outputs, want))
    from tinycnn import edges
    from tinycnn.costs import node_macs
    if raw:
        outputs = [edges.blob_to_raw(model, y, k) for k, y in enumerate(outputs)]
    outputs = [model._from_nhwc(y, k) for k, y in enumerate(outputs)]
    layers = [{"index": i, "op": node.op.value, "name": node.name, "macs": int(node_macs(g, node)),
               "instructions": int(per_op[0, i].sum()), "ticks": int(ticks[0, i]),
               "classes": dict(zip(CLASSES, map(int, per_op[0, i])))} for i, node in enumerate(g.nodes)]
    total_ticks = int(ticks.sum())
    per_tick = float(per_op.sum()) / total_ticks if total_ticks else 0.0
    return EmulationResult(target, machine, outputs, layers, [int(v) for v in per_op.sum(axis=(1, 2))], per_tick,
                           sizes, arena, high_water, matches)


def _split_outputs(model, flat, n) -> list:
    """out.bin: per sample, every output's bytes back to back -> one blob-dtype array per output."""
    from tinycnn.runtime import DTYPES
    g = model.graph
    specs = [(np.dtype(DTYPES[g.tensors[o].dtype]), (1,) + tuple(g.tensors[o].shape[1:])) for o in g.outputs]
    sizes = [dt.itemsize * int(np.prod(shape)) for dt, shape in specs]
    if flat.size != n * sum(sizes):
        raise TinyCNNError(f"the firmware wrote {flat.size} output bytes, expected {n * sum(sizes)}")
    rows = flat.reshape(n, sum(sizes))
    out, at = [], 0
    for (dt, shape), size in zip(specs, sizes):
        out.append(np.ascontiguousarray(rows[:, at:at + size]).view(dt).reshape((n,) + shape[1:]))
        at += size
    return out
