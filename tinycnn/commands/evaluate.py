from __future__ import annotations

import json


def register(sub):
    p = sub.add_parser("eval", help="compare a blob with the float reference model on data",
                       description="Run the blob and the float reference (ONNX Runtime for .onnx; the "
                                   "tinycnn float IR for Keras/TFLite) on the same inputs and report "
                                   "top-1 accuracy (if labels 'y' are given), agreement, SQNR, cosine, "
                                   "RMSE, MAE, and optionally per-layer SQNR.")
    p.add_argument("blob")
    p.add_argument("--reference", "-r", required=True, help="the source float model")
    p.add_argument("--data", "-d", required=True, help=".npz with 'x' (and optional labels 'y')")
    p.add_argument("--per-layer", action="store_true", help="per-layer SQNR table")
    p.add_argument("--json", help="also write the metrics to this JSON file")
    p.set_defaults(func=run)


def run(args):
    import tinycnn
    from tinycnn.fileio import check_output_path
    from tinycnn.report import format_eval

    if args.json is not None:
        check_output_path(args.json, "metrics JSON")

    m = tinycnn.evaluate(args.blob, args.reference, args.data, per_layer=args.per_layer)
    print(format_eval(m))
    if args.json:
        from tinycnn.fileio import atomic_write
        atomic_write(args.json, json.dumps(m, indent=1, default=str), "metrics JSON")
    return 0
