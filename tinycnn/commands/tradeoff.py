"""`tinycnn tradeoff` and `tinycnn sensitivity` (tinycnn/explorer/, docs/tradeoff.md)."""
from __future__ import annotations

import argparse


def _common(p, outputs=True):
    p.add_argument("model", help="float model (.onnx, .keras, .h5, .tflite)")
    p.add_argument("--data", "-d", required=True, help=".npz with inputs 'x' (and labels 'y') in the model's layout")
    p.add_argument("--calib", required=True, help="calibration inputs (.npz 'x' or 'x_calib', or .npy)")
    p.add_argument("--target", default="cortex-m4", help="firmware_sim target (default: cortex-m4)")
    p.add_argument("--clock-mhz", type=float, help="override the target clock")
    p.add_argument("--jobs", "-j", type=int, default=2, help="worker processes (default: 2)")
    p.add_argument("--max-samples", type=int, help="use only the first N data samples")
    p.add_argument("--calib-samples", type=int, help="use only the first N calibration samples")
    if outputs:
        p.add_argument("--plot", help="write a PNG plot here")
        p.add_argument("--json", help="write the results as JSON here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--input-shape", action="append", metavar="NAME=1x3x48x192",
                   help="fix a dynamic input dimension (repeatable; default: the calibration data's shape)")
    p.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="where the candidate jobs run: local worker processes (--jobs), or Ray tasks "
                        "(needs 'pip install tinycnn[cluster]'; docs/tradeoff.md) (default: local)")
    p.add_argument("--address", help="--backend ray: the cluster to join ('auto', 'HOST:6379', "
                                     "'ray://HOST:10001'; default: RAY_ADDRESS, else a local Ray instance)")


def register(sub):
    p = sub.add_parser(
        "tradeoff", help="compare quantization schemes: accuracy vs latency / size on a target",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Convert the model as float32, int8 (per-tensor, per-channel; minmax, percentile, mse,\n"
                    "entropy calibration), 16x8, 1-bit hidden layers and an automatically searched mixed\n"
                    "precision; run each on a held-back test split and measure accuracy, output SQNR, flash,\n"
                    "peak SRAM, simulated latency on the target and CPU latency. Prints a table sorted by\n"
                    "--objective with the Pareto front marked.",
        epilog="example:\n  tinycnn tradeoff examples/digits_cnn.onnx --data examples/digits_test.npz "
               "--calib examples/digits_calib.npz --plot tradeoff.png --save out/tradeoff\n"
               "  tinycnn convert --from-tradeoff out/tradeoff/tradeoff.json --pick 16x8 -o digits_16x8.tcnn")
    _common(p)
    p.add_argument("--objective", choices=["latency", "size"], default="latency",
                   help="sort by, and minimize in the mixed-precision search (default: latency)")
    p.add_argument("--max-accuracy-drop", type=float, default=1.0,
                   help="mixed-precision budget: points of top-1 below float on the validation split")
    p.add_argument("--val-fraction", type=float, default=0.3,
                   help="share of --data used as the validation split of the search (default 0.3); "
                        "every candidate is measured on the rest")
    p.add_argument("--no-mixed", action="store_true", help="skip the mixed-precision search")
    p.add_argument("--calibration", choices=["minmax", "percentile", "mse", "entropy", "auto"], default="minmax",
                   help="activation ranges of the per-tensor, 16x8, 1-bit and mixed candidates (the int8 "
                        "per-channel candidates try all four); auto: the method with the best top-1 agreement "
                        "with float (then output SQNR) on the validation split, with the reason printed "
                        "(default: minmax)")
    p.add_argument("--save", metavar="DIR",
                   help="keep every measured candidate's blob in DIR, with DIR/tradeoff.json; "
                        "'tinycnn convert --from-tradeoff DIR/tradeoff.json --pick NAME' rebuilds one, byte for byte")
    p.add_argument("--latency-samples", type=int, default=16,
                   help="samples timed (3 times each) for the measured CPU latency (default 16)")
    p.set_defaults(func=run_tradeoff)

    s = sub.add_parser("sensitivity", help="per-layer quantization sensitivity (table and bar plot)",
                       description="Lower one weighted layer at a time (to int8, and to 1-bit where it can be "
                                   "binarized) with all other layers 16x8, and report the accuracy drop, output "
                                   "SQNR and savings, most harmful first.")
    _common(s)
    s.add_argument("--top", type=int, default=20,
                   help="plot the N most harmful (layer, precision) rows (default 20; 0 = all)")
    s.set_defaults(func=run_sensitivity)

    r = sub.add_parser(
        "report", help="one self-contained HTML report: layers, memory, latency, validation, trade-off",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Convert the float model to int8 (calibrated on --calib), simulate it on --target and\n"
                    "validate it against the float model on --data; write one HTML file with the summary against\n"
                    "the target's budgets, the per-layer RAM / flash / latency table, the memory-profile and\n"
                    "latency plots, the int8-vs-float metrics (with per-layer SQNR) and the trade-off table and\n"
                    "plot (a tradeoff run, or --tradeoff-json from an earlier one). Plots are embedded: the\n"
                    "file has no external dependency and can be sent around.",
        epilog="example:\n  tinycnn report examples/digits_cnn.onnx --data examples/digits_test.npz "
               "--calib examples/digits_calib.npz --target cortex-m4 -o report.html")
    _common(r, outputs=False)
    r.add_argument("--output", "-o", required=True, help="the HTML file to write")
    r.add_argument("--tradeoff-json", metavar="FILE", help="take the trade-off table from this tradeoff --json "
                                                           "file instead of running tradeoff")
    r.add_argument("--no-tradeoff", action="store_true", help="leave the trade-off section out")
    r.add_argument("--calibration", choices=["minmax", "percentile", "mse", "entropy"], default="minmax",
                   help="activation ranges of the reported int8 blob (default: minmax)")
    r.add_argument("--no-mixed", action="store_true", help="tradeoff without the mixed-precision search")
    r.set_defaults(func=run_report)

    w = sub.add_parser(
        "sweep", help="tradeoff over several models on one backend (local processes or a Ray cluster)",
        description="Run the trade-off explorer on every model, on one backend (--backend ray: the cluster is "
                    "joined or started once). --data / --calib: once for all models or once per model, in order. "
                    "Writes OUT/<model>.json per model and OUT/sweep.json (each model's Pareto front).",
        epilog="example:\n  tinycnn sweep models/*.onnx --data test.npz --calib calib.npz --backend ray "
               "--address auto -o out/sweep")
    w.add_argument("models", nargs="+", help="float models (.onnx, .keras, .h5, .tflite)")
    w.add_argument("--data", "-d", action="append", required=True, help="labelled data .npz (repeat: one per model)")
    w.add_argument("--calib", action="append", required=True, help="calibration inputs (repeat: one per model)")
    w.add_argument("--output", "-o", required=True, help="directory for the JSON files")
    for flag, kw in (("--target", dict(default="cortex-m4", help="firmware_sim target (default: cortex-m4)")),
                     ("--jobs", dict(type=int, default=2, help="local worker processes (default: 2)")),
                     ("--max-samples", dict(type=int, help="use only the first N data samples")),
                     ("--calib-samples", dict(type=int, help="use only the first N calibration samples")),
                     ("--objective", dict(choices=["latency", "size"], default="latency", help="default: latency")),
                     ("--max-accuracy-drop", dict(type=float, default=1.0, help="mixed-precision budget (points)")),
                     ("--latency-samples", dict(type=int, default=16, help="samples timed for CPU latency"))):
        w.add_argument(flag, **kw)
    w.add_argument("--no-mixed", action="store_true", help="skip the mixed-precision search")
    w.add_argument("--backend", choices=["local", "ray"], default="local", help="default: local")
    w.add_argument("--address", help="--backend ray: the cluster to join (default: RAY_ADDRESS, else local)")
    w.add_argument("--quiet", action="store_true", help="no progress bars")
    w.set_defaults(func=run_sweep)


def _shapes(args):
    from converters.input_shapes import parse_input_shapes
    return parse_input_shapes(args.input_shape)


def run_tradeoff(args):
    from tinycnn.explorer import tradeoff
    from tinycnn.fileio import check_outputs
    check_outputs((args.json, "JSON report"), (args.plot, "plot"))
    res = tradeoff(args.model, args.data, args.calib, target=args.target, clock_mhz=args.clock_mhz,
                   objective=args.objective, max_accuracy_drop=args.max_accuracy_drop, jobs=args.jobs,
                   mixed=not args.no_mixed, val_fraction=args.val_fraction, max_samples=args.max_samples,
                   calib_samples=args.calib_samples, latency_samples=args.latency_samples,
                   progress=not args.quiet, calibration=args.calibration, save_dir=args.save,
                   input_shapes=_shapes(args), backend=args.backend, address=args.address)
    print(res.format())
    if args.save:
        print(f"wrote {len([r for r in res.rows if 'blob_file' in r])} candidate blobs and tradeoff.json to {args.save}")
    if args.json:
        print(f"wrote {res.save_json(args.json)}")
    if args.plot:
        print(f"wrote {res.plot(args.plot)}")
    return 0


def run_sensitivity(args):
    from tinycnn.explorer.sensitivity import sensitivity
    from tinycnn.fileio import check_outputs
    check_outputs((args.json, "JSON report"), (args.plot, "plot"))
    res = sensitivity(args.model, args.data, args.calib, target=args.target, clock_mhz=args.clock_mhz,
                      jobs=args.jobs, max_samples=args.max_samples, calib_samples=args.calib_samples,
                      progress=not args.quiet, plot=args.plot, json_path=args.json, top=args.top,
                      input_shapes=_shapes(args), backend=args.backend, address=args.address)
    print(res.format())
    for what, path in (("json", args.json), ("plot", args.plot)):
        if path:
            print(f"wrote {path}")
    return 0


def run_report(args):
    from tinycnn.explorer.html_report import build_report
    from tinycnn.fileio import check_input_file, check_outputs
    check_outputs((args.output, "HTML report"))
    if args.tradeoff_json:
        check_input_file(args.tradeoff_json, "tradeoff JSON")
    path = build_report(args.model, args.data, args.calib, args.output, target=args.target, clock_mhz=args.clock_mhz,
                        tradeoff_json=args.tradeoff_json, run_tradeoff=not args.no_tradeoff,
                        max_samples=args.max_samples, calib_samples=args.calib_samples, calibration=args.calibration,
                        progress=not args.quiet, jobs=args.jobs, backend=args.backend, address=args.address,
                        mixed=not args.no_mixed)
    print(f"wrote {path}")
    return 0


def run_sweep(args):
    from tinycnn.explorer.sweep import sweep
    sweep(args.models, args.data, args.calib, args.output, backend=args.backend, jobs=args.jobs, address=args.address,
          target=args.target, max_samples=args.max_samples, calib_samples=args.calib_samples,
          objective=args.objective, max_accuracy_drop=args.max_accuracy_drop, mixed=not args.no_mixed,
          latency_samples=args.latency_samples, progress=not args.quiet)
    print(f"wrote {args.output}/sweep.json")
    return 0
