"""`tinycnn emulate`: build the blob's firmware for a Cortex-M core and run it under QEMU."""
from __future__ import annotations

import sys


def register(sub):
    from firmware_sim.emulate import TARGETS
    p = sub.add_parser("emulate", help="run a blob as firmware on an emulated Cortex-M board (QEMU), with "
                                       "exact instruction counts per layer",
                       description="Export the blob as a C project, build it with arm-none-eabi-gcc for the core, "
                                   "run it on qemu-system-arm's MPS2/MPS3 board (" +
                                   ", ".join(f"{t}: {m}" for t, m in TARGETS.items()) +
                                   ") and report the outputs (the model's own dtypes), the executed instructions "
                                   "per layer by class (-icount shift=0 and a TCG plugin), the build's section "
                                   "sizes (arm-none-eabi-size) and the arena high-water the runtime measured. "
                                   "Needs the Debian packages gcc-arm-none-eabi, libnewlib-arm-none-eabi, "
                                   "qemu-system-arm (make firmware-tools).")
    p.add_argument("blob", help=".tcnn file")
    p.add_argument("--target", "-t", default="cortex-m4", choices=sorted(TARGETS),
                   help="core to build for (default: cortex-m4)")
    p.add_argument("--input", "-i", help=".npy/.npz inputs in the source layout: float (quantized at the edge) "
                                         "or the model's raw integer dtype (default: one random raw input)")
    p.add_argument("--output", "-o", help="write the device's outputs here (.npy; .npz for several outputs)")
    p.add_argument("--json", metavar="FILE", help="write the full report (per-layer counts, sizes) as JSON")
    p.add_argument("--workdir", help="build in this directory and keep it (default: a temporary one)")
    p.add_argument("--timeout", type=float, default=600, help="seconds allowed for the build and for the run")
    p.set_defaults(func=run)


def run(args):
    import json

    from firmware_sim.emulate import emulate
    from tinycnn.commands.run import save_outputs
    from tinycnn.dataset import load_inputs
    from tinycnn.fileio import atomic_write, check_outputs
    from tinycnn.report import format_table

    check_outputs((args.output, "output"), (args.json, "report JSON"))
    x = load_inputs(args.input, native=True) if args.input else None
    r = emulate(args.blob, args.target, inputs=x, workdir=args.workdir, timeout=args.timeout,
                progress=lambda msg: print(f"emulate: {msg}", file=sys.stderr, flush=True))
    rows = []
    for layer in r.layers:
        c = layer["classes"]
        rows.append({"i": layer["index"], "op": layer["op"], "name": layer["name"][:40], "macs": layer["macs"],
                     "insns": layer["instructions"],
                     "per_mac": f"{layer['instructions'] / layer['macs']:.2f}" if layer["macs"] else "-",
                     "ld": c["load"], "st": c["store"], "mac": c["dsp_mac"] + c["mul"], "br": c["branch"],
                     "mve": c["mve"]})
    print(format_table(rows, [("i", "#"), ("op", "op"), ("name", "name"), ("macs", "MACs"), ("insns", "instructions"),
                              ("per_mac", "insn/MAC"), ("ld", "loads"), ("st", "stores"), ("mac", "mul+MAC"),
                              ("br", "branches"), ("mve", "MVE")]))
    macs = sum(layer["macs"] for layer in r.layers)
    print(f"{args.target} on {r.machine}: {r.instructions:,} instructions per inference"
          + (f" ({r.instructions / macs:.2f} per MAC)" if macs else "")
          + f"; SysTick agrees at {r.instructions_per_tick:.2f} instructions per tick")
    s = r.sizes
    print(f"build: text {s['text']:,} B, rodata {s['rodata']:,} B (model blob included), data {s['data']:,} B, "
          f"bss {s['bss']:,} B -> flash {r.flash_bytes:,} B, static RAM {r.ram_bytes:,} B (+ stack)")
    print(f"arena: {r.arena_bytes:,} B static, high-water {r.arena_high_water:,} B measured by the runtime")
    print(f"outputs: {'bit-identical to' if r.matches_cpu else 'DIFFERENT from'} tinycnn's CPU runtime")
    if args.output:
        from tinycnn.runtime import load
        path = save_outputs(args.output, load(args.blob).output_names, r.outputs)
        print(f"wrote {path}")
    if args.json:
        atomic_write(args.json, json.dumps(r.to_json(), indent=1), "report JSON")
        print(f"wrote {args.json}")
    return 0 if r.matches_cpu else 1
