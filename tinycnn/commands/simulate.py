"""`tinycnn simulate | targets | export-c`: microcontroller simulation (firmware_sim)."""
from __future__ import annotations

import json
import sys


def register(sub):
    p = sub.add_parser("simulate", help="run a blob on a simulated microcontroller: arena, budgets, cycles",
                       description="Plan the SRAM arena, check SRAM/flash budgets, check the plan on the host (the "
                                   "Python kernels run with every activation in one arena, bit-identical to the "
                                   "CPU runtime) and estimate "
                                   "per-layer cycles for a CMSIS-NN-class kernel library on the target.")
    p.add_argument("blob", help=".tcnn file")
    p.add_argument("--target", "-t", default="cortex-m4", help="target name (default: cortex-m4; see 'tinycnn targets')")
    p.add_argument("--target-file", help="TOML/JSON file with extra targets")
    p.add_argument("--clock-mhz", type=float, help="override the target's clock")
    p.add_argument("--input", "-i", help=".npy/.npz inputs in the source layout: float (quantized at the edge) or the model's raw "
                   "integer dtype, e.g. int8 (default: one random input)")
    p.add_argument("--kernels", choices=["cmsis-nn", "tflm-reference", "tinycnn-c", "naive"], default="cmsis-nn",
                   help="kernel stack: TFLM + CMSIS-NN (default, analytical), TFLM's reference C kernels "
                        "(analytical; 'naive' is the old name) or tinycnn's C runtime (fitted to QEMU-measured "
                        "instruction counts x CPI; with --emulate: measured); sets the cycle model, the "
                        "scratch and the arena checked")
    p.add_argument("--no-budget", action="store_true",
                   help="exploration: report a model that does not fit without failing (no FAIL line, exit 0)")
    p.add_argument("--no-in-place", action="store_true", help="plan without in-place execution")
    p.add_argument("--no-order-search", action="store_true", help="keep the blob's op order")
    p.add_argument("--emulate", action="store_true",
                   help="also build the firmware for the target's core and run it under QEMU (tinycnn emulate): "
                        "measured instructions per layer beside the estimate, real flash/RAM of the build")
    p.add_argument("--json", metavar="FILE", help="write the report as JSON")
    p.add_argument("--plot", metavar="FILE", help="write a PNG of memory profile and per-layer latency")
    p.set_defaults(func=run_simulate)

    t = sub.add_parser("targets", help="list the simulation targets",
                       description="List built-in targets (and those of --target-file).")
    t.add_argument("--target-file", help="TOML/JSON file with extra targets")
    t.add_argument("--json", action="store_true", help="machine-readable output")
    t.set_defaults(func=run_targets)

    e = sub.add_parser("export-c", help="write a C project (runtime + model) or the blob as C",
                       description="-o DIR: a self-contained C99 project (the tinycnn C runtime, the model as a "
                                   "const array, main.c, Makefile; make -C DIR TARGET=host). -o FILE.h: only the "
                                   "blob, as an aligned const uint8_t array declared extern in FILE.h and defined "
                                   "in FILE.c, with the arena size and input/output shapes and quantization.")
    e.add_argument("blob", help=".tcnn file")
    e.add_argument("--output", "-o", required=True, help="project directory, or header file (e.g. model_data.h)")
    e.add_argument("--name", help="C identifier prefix (default: the blob's file name)")
    e.set_defaults(func=run_export_c)


def run_simulate(args):
    from firmware_sim import simulate
    from tinycnn.dataset import load_inputs
    from tinycnn.fileio import check_outputs

    check_outputs((args.json, "report JSON"), (args.plot, "plot"))
    from tinycnn.errors import BudgetExceededError

    x = load_inputs(args.input, native=True) if args.input else None  # raw int8/uint8/int16 kept
    fits = True
    try:
        report = simulate(args.blob, args.target, args.clock_mhz, inputs=x, target_file=args.target_file,
                          kernels=args.kernels, in_place=not args.no_in_place,
                          order_search=not args.no_order_search, check_budget=not args.no_budget,
                          emulate=args.emulate,
                          progress=lambda msg: print(f"emulate: {msg}", file=sys.stderr, flush=True))
    except BudgetExceededError as exc:  # the full report, ending in its FAIL line(s)
        report, fits = exc.report, False
    print(report.format())
    if args.json:
        report.save_json(args.json)
        print(f"wrote {args.json}")
    if args.plot:
        from firmware_sim.plot import plot_report
        plot_report(report, args.plot)
        print(f"wrote {args.plot}")
    ok = fits and report.matches_cpu in (True, None) and (not report.emulation or report.emulation["matches_cpu"])
    return 0 if ok else 1


def run_targets(args):
    from firmware_sim.targets import load_targets
    from tinycnn.report import format_table

    targets = load_targets(args.target_file)
    if args.json:
        print(json.dumps([t.to_json() for t in targets.values()], indent=1))
        return 0
    rows = [{"name": t.name, "core": t.core, "clock": f"{t.clock_mhz:g} MHz",
             "sram": f"{t.sram_bytes // 1024} KiB", "flash": f"{t.flash_bytes // 1024} KiB",
             "library": t.library, "board": t.board} for t in targets.values()]
    print(format_table(rows, [("name", "target"), ("clock", "clock"), ("sram", "SRAM"), ("flash", "flash"),
                              ("core", "core"), ("board", "class"), ("library", "cost model")]))
    return 0


def run_export_c(args):
    from firmware_sim.export_c import export_c, export_project

    if not args.output.endswith(".h"):
        path = export_project(args.blob, args.output)
        print(f"wrote {path}/ (build: make -C {path} TARGET=host)")
        return 0
    path = export_c(args.blob, args.output, name=args.name)
    print(f"wrote {path} and {path.with_suffix('.c').name} ({path.stat().st_size} bytes)")
    return 0
