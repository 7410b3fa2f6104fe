"""`tinycnn tradeoff` and `tinycnn sensitivity` (tinycnn/explorer/, docs/tradeoff.md)."""
from __future__ import annotations

import argparse


def _common(p):
    p.add_argument("model", help="float model (.onnx, .keras, .h5, .tflite)")
    p.add_argument("--data", "-d", required=True, help=".npz with inputs 'x' (and labels 'y') in the model's layout")
    p.add_argument("--calib", required=True, help="calibration inputs (.npz 'x' or 'x_calib', or .npy)")
    p.add_argument("--target", default="cortex-m4", help="firmware_sim target (default: cortex-m4)")
    p.add_argument("--clock-mhz", type=float, help="override the target clock")
    p.add_argument("--jobs", "-j", type=int, default=2, help="worker processes (default: 2)")
    p.add_argument("--max-samples", type=int, help="use only the first N data samples")
    p.add_argument("--calib-samples", type=int, help="use only the first N calibration samples")
    p.add_argument("--plot", help="write a PNG plot here")
    p.add_argument("--json", help="write the results as JSON here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--input-shape", action="append", metavar="NAME=1x3x48x192",
                   help="fix a dynamic input dimension (repeatable; default: the calibration data's shape)")


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
                   input_shapes=_shapes(args))
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
                      progress=not args.quiet,
                      plot=args.plot, json_path=args.json, top=args.top, input_shapes=_shapes(args))
    print(res.format())
    for what, path in (("json", args.json), ("plot", args.plot)):
        if path:
            print(f"wrote {path}")
    return 0
