from __future__ import annotations

import json


def register(sub):
    p = sub.add_parser("eval", help="compare a blob with its source model, run in its own framework",
                       description="Run the blob and the source model on the same inputs: ONNX Runtime "
                                   "for .onnx, the TFLite Micro interpreter for .tflite (tflite-runtime's "
                                   "reference kernels where TFLM refuses the model), tinycnn's NumPy float "
                                   "reference for Keras (labelled as such). Reports, per output, top-1 "
                                   "accuracy (labels 'y') and agreement on classifier outputs, SQNR, cosine, "
                                   "RMSE, MAE; a quantized .tflite is compared on its own integers (same raw "
                                   "inputs into both, differences in LSB). --per-layer adds per-layer SQNR.")
    p.add_argument("blob")
    p.add_argument("--reference", "-r", required=True, help="the source model (.onnx, .tflite, .keras, .h5)")
    p.add_argument("--data", "-d", required=True, help=".npz with 'x' (and optional labels 'y'): float, or raw int8/uint8 for a quantized .tflite")
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
