"""`tinycnn compare model.tflite --input x.npy`: layer-by-layer diff against the reference
interpreter (TFLite Micro; tflite-runtime reference kernels where TFLM cannot run the model)."""
from __future__ import annotations


def register(sub):
    p = sub.add_parser("compare", help="compare tinycnn with TFLite Micro layer by layer",
                       description="Import a .tflite model, run it with tinycnn's kernels and with "
                                   "the reference interpreter on the same inputs, and print every "
                                   "layer's max |difference| (in LSB for quantized models) and the "
                                   "first layer that differs. Exit code 1 on any difference.")
    p.add_argument("model", help=".tflite model")
    p.add_argument("--input", "-i", required=True,
                   help=".npy or .npz (key 'x') with inputs in the model's layout: float, or raw "
                        "int8/uint8 values for quantized models")
    p.add_argument("--samples", type=int, default=1, help="compare the first N samples (default 1)")
    p.add_argument("--reference", choices=["auto", "tflm", "tflite_ref"], default="auto",
                   help="reference interpreter: tflm (TFLite Micro), tflite_ref (tflite-runtime reference "
                        "kernels in the side venv, see TINYCNN_TFLITE_REF_PYTHON), or auto: TFLite Micro, "
                        "falling back to tflite_ref where TFLM cannot run the model (default: auto)")
    p.set_defaults(func=run)


def run(args):
    from pathlib import Path

    from tinycnn.compare import compare_tflite, format_comparison
    from tinycnn.dataset import load_inputs
    from tinycnn.errors import TinyCNNError

    if Path(args.model).suffix.lower() != ".tflite":
        raise TinyCNNError(f"{args.model}: compare needs a .tflite model")
    x = load_inputs(args.input, native=True)
    result = compare_tflite(args.model, x, reference=args.reference, max_samples=args.samples)
    print(format_comparison(result))
    return 0 if result.identical else 1
