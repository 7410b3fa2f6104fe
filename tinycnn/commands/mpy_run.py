from __future__ import annotations

import numpy as np


def register(sub):
    p = sub.add_parser("mpy-run", help="run a blob in real MicroPython (webassembly port under node)",
                       description="Export tinycnn_mp.py and run the blob inside MicroPython (npm "
                                   "@micropython/micropython-webassembly-pyscript under node; installed by "
                                   "`make .mpy-node/.installed-stamp`). Float inputs (source layout) are "
                                   "quantized at the edge like `tinycnn run`; integer inputs of the model's "
                                   "input dtype are taken as NHWC. Outputs are the raw integer outputs.")
    p.add_argument("blob")
    p.add_argument("--input", "-i", required=True, help=".npy or .npz (key 'x') with a batch of inputs")
    p.add_argument("--output", "-o", help="write the (integer) outputs to this .npy")
    p.add_argument("--limit", type=int, help="run only the first N samples (MicroPython is slow)")
    p.add_argument("--heap", default="8M", help="initial MicroPython heap, e.g. 64K, 8M (default 8M)")
    p.set_defaults(func=run)


def _bytes(text: str) -> int:
    from tinycnn.errors import TinyCNNError
    units = {"k": 1 << 10, "m": 1 << 20}
    t = text.strip().lower()
    try:
        return int(float(t[:-1]) * units[t[-1]]) if t[-1] in units else int(t)
    except (ValueError, IndexError):
        raise TinyCNNError(f"--heap {text!r}: expected a byte count such as 65536, 64K or 8M") from None


def quantized_inputs(model, x):
    """Integer NHWC input for the graph's (single) input: float in the source layout is
    converted and quantized like Model.run; integer arrays of the input dtype pass through."""
    from tinycnn.errors import TinyCNNError
    t = model.graph.tensors[model.graph.inputs[0]]
    x = np.asarray(x)
    if x.dtype.kind == "f":
        return model.quantize_input(model._to_nhwc(x, 0))
    if x.dtype != np.dtype(t.dtype):
        raise TinyCNNError(f"input has dtype {x.dtype}; give float inputs or {t.dtype} NHWC")
    return x if x.ndim == len(t.shape) else x[None]


def run(args):
    import tinycnn
    from tinycnn.dataset import load_inputs
    from tinycnn.errors import TinyCNNError
    from tinycnn.mpy.host import run_blob

    model = tinycnn.load(args.blob)
    if len(model.graph.inputs) != 1:
        raise TinyCNNError("mpy-run takes models with one input")
    xq = quantized_inputs(model, load_inputs(args.input))
    if args.limit:
        xq = xq[:args.limit]
    heap = _bytes(args.heap)
    if len(xq) > 8:
        import sys
        print(f"running {len(xq)} samples in MicroPython (interpreted: about a second per 0.5 M MACs; "
              "--limit N runs fewer)...", file=sys.stderr, flush=True)
    outs, stats = run_blob(args.blob, [xq], heap_bytes=heap)
    if args.output:
        np.save(args.output, outs[0])
        print(f"wrote {args.output}: shape {outs[0].shape} {outs[0].dtype}")
    macs = tinycnn.info(args.blob)["totals"].get("macs") or 0
    us = stats["run_us"]
    mean_us = sum(us) / len(us)
    print(f"ran {len(us)} samples in MicroPython: {mean_us / 1e3:.0f} ms/inference"
          + (f", {macs / mean_us:.2f} M MAC/s" if macs else ""))
    print(f"heap: module {stats['module_bytes']:,} B, blob+model+arena live after load {stats['loaded_bytes']:,} B "
          f"(arena {stats['arena_bytes']:,} B, scratch {stats['scratch_bytes']:,} B); "
          f"{stats['alloc_per_run_bytes']:,} B of short-lived integers allocated per inference")
    return 0
