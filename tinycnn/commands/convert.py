from __future__ import annotations

import argparse


def register(sub):
    p = sub.add_parser(
        "convert", help="convert a model to a .tcnn blob (int8 post-training quantization)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Convert an ONNX / Keras (.keras, .h5) / TFLite model to a .tcnn blob.\n\n"
                    "int8 (default): symmetric per-channel int8 weights, asymmetric int8 activations\n"
                    "calibrated on --calib data, int32 biases, fixed-point requantization (TFLite spec).\n"
                    "int8 .tflite models keep their own quantization.",
        epilog="example:\n  tinycnn convert examples/digits_cnn.onnx --calib examples/digits_calib.npz "
               "-o digits.tcnn")
    p.add_argument("model", help="model file (.onnx, .keras, .h5, .tflite)")
    p.add_argument("-o", "--output", help="output blob (default: MODEL with .tcnn suffix)")
    p.add_argument("--calib", help="calibration inputs (.npz with key 'x', or .npy) in the model's "
                                   "input layout (NCHW for ONNX); 100-1000 samples")
    p.add_argument("--scheme", default="int8", choices=["int8", "float32"],
                   help="int8 quantization or a float32 blob (default: int8)")
    p.add_argument("--calibration", default="minmax", choices=["minmax", "percentile", "mse", "entropy"],
                   help="activation range method (default: minmax)")
    p.add_argument("--percentile", type=float, default=99.99, help="for --calibration percentile")
    p.add_argument("--per-tensor", action="store_true",
                   help="one weight scale per tensor instead of per output channel")
    p.add_argument("--quiet", action="store_true", help="print only the blob path")
    p.set_defaults(func=run)


def run(args):
    import tinycnn
    from tinycnn.report import describe

    out = tinycnn.convert(args.model, calib=args.calib, output=args.output, scheme=args.scheme,
                          calibration=args.calibration, per_channel=not args.per_tensor,
                          percentile=args.percentile, progress=not args.quiet)
    if args.quiet:
        print(out)
        return 0
    d = describe(tinycnn.load(out).graph, out)
    t = d["totals"]
    print(f"wrote {out}: {t['blob_bytes']:,} bytes, {t['layers']} layers, {t['params']:,} params, "
          f"{t['macs']:,} MACs/inference (scheme {d['meta'].get('scheme', 'float32')})")
    return 0
