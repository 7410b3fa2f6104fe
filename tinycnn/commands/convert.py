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
    p.add_argument("model", nargs="?",
                   help="model file (.onnx, .keras, .h5, .tflite); with --from-tradeoff: default the one it records")
    p.add_argument("-o", "--output", help="output blob (default: MODEL with .tcnn suffix)")
    p.add_argument("--calib", help="calibration inputs (.npz with key 'x', or .npy) in the model's "
                                   "input layout (NCHW for ONNX); 100-1000 samples")
    p.add_argument("--scheme", default="int8", choices=["int8", "int16x8", "float32", "binary"],
                   help="int8 quantization; int16x8: TFLite 16x8 (int16 activations, int8 weights) in every "
                        "conv/depthwise/FC layer, the tradeoff explorer's '16x8' candidate; a float32 blob; or "
                        "binary: 1-bit (XNOR) versions of --binary-layers, the rest int8 (default: int8; "
                        "docs/binary.md)")
    p.add_argument("--from-tradeoff", metavar="JSON",
                   help="rebuild the blob 'tinycnn tradeoff' measured for --pick NAME, from its --json or "
                        "--save DIR/tradeoff.json (model and calibration data as recorded there, checked by "
                        "sha256; the result is byte-identical to the measured blob)")
    p.add_argument("--pick", metavar="NAME", help="with --from-tradeoff: the candidate (name or unique prefix)")
    p.add_argument("--binary-layers", nargs="+", metavar="LAYER",
                   help="with --scheme binary: layers to binarize (default: every conv/FC "
                        "except the first and the last)")
    p.add_argument("--calibration", default="minmax", choices=["minmax", "percentile", "mse", "entropy"],
                   help="activation range method (default: minmax)")
    p.add_argument("--percentile", type=float, default=99.99, help="for --calibration percentile")
    p.add_argument("--per-tensor", action="store_true",
                   help="one weight scale per tensor instead of per output channel")
    p.add_argument("--input-shape", action="append", metavar="NAME=1x3x48x192",
                   help="fix an input's dynamic dimensions (source layout; repeat per input). "
                        "Default: the shape of the --calib data")
    p.add_argument("--strip", action="store_true", help="leave out the debug section (names, source "
                   "names, float scales, metadata): the smallest blob for a device (docs/blob-format.md)")
    p.add_argument("--quiet", action="store_true", help="print only the blob path")
    p.set_defaults(func=run)


def run(args):
    import tinycnn
    from converters.input_shapes import parse_input_shapes
    from tinycnn.errors import TinyCNNError
    from tinycnn.report import describe

    if args.from_tradeoff:
        return _run_from_tradeoff(args)
    if args.pick:
        raise TinyCNNError("--pick needs --from-tradeoff tradeoff.json")
    if not args.model:
        raise TinyCNNError("convert needs a model file (or --from-tradeoff tradeoff.json --pick NAME)")

    out = tinycnn.convert(args.model, calib=args.calib, output=args.output, scheme=args.scheme,
                          calibration=args.calibration, per_channel=not args.per_tensor,
                          percentile=args.percentile, progress=not args.quiet,
                          input_shapes=parse_input_shapes(args.input_shape),
                          **({"binary_layers": args.binary_layers} if args.scheme == "binary" else {}))
    if args.strip:
        from tinycnn.blob.writer import strip_blob
        strip_blob(out)
    if args.quiet:
        print(out)
        return 0
    d = describe(tinycnn.load(out).graph, out)
    t = d["totals"]
    print(f"wrote {out}: {t['blob_bytes']:,} bytes, {t['layers']} layers, {t['params']:,} params, "
          f"{t['macs']:,} MACs/inference (scheme {d['meta'].get('scheme', 'float32')})")
    if args.scheme == "binary" and args.calib:
        _report_binarization_cost(args.model, out, args.calib)
    return 0


def _run_from_tradeoff(args):
    from tinycnn.explorer.save import convert_from_tradeoff
    out, row = convert_from_tradeoff(args.from_tradeoff, args.pick, args.output, args.model, args.calib)
    if args.quiet:
        print(out)
        return 0
    print(f"wrote {out}: candidate {row['candidate']!r}, byte-identical to the blob tradeoff measured "
          f"(sha256 {row['blob_sha256'][:16]}...): {row['accuracy_metric']} {row['accuracy']:.2f}%, "
          f"flash {row['flash_bytes']:,} B, peak SRAM {row['peak_sram_bytes']:,} B, "
          f"sim {row['sim_latency_ms']:.3f} ms")
    return 0


def _report_binarization_cost(model_path, blob_path, calib):
    """Top-1 agreement of the binarized blob with the float model on the calibration inputs."""
    import numpy as np

    import tinycnn
    from tinycnn.convert import import_model, to_nhwc
    from tinycnn.dataset import load_inputs
    from tinycnn.reference.float_ops import run_float

    graph = import_model(model_path)
    x = load_inputs(calib, "calibration")
    ref = run_float(graph, [to_nhwc(graph, x)])[0]
    model = tinycnn.load(blob_path)
    got = model.run_quantized([model.quantize_input(to_nhwc(graph, x))])[0]
    binary = [n.attrs.get("source_name", n.name) for n in model.graph.nodes
              if n.op.value.startswith("BINARY_") and n.op.value != "BINARY_MAX_POOL_2D"]
    if ref.ndim == 2 and ref.shape[1] > 1:
        agree = float(np.mean(ref.argmax(1) == got.argmax(1)))
        print(f"binary layers: {', '.join(binary)}; top-1 agreement with the float model on the "
              f"{len(x)} calibration inputs: {100 * agree:.1f}%")
    print("note: binarizing weights and activations of a network not trained for it usually costs "
          "a lot of accuracy; train with a straight-through estimator (docs/binary.md)")
