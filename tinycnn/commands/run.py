from __future__ import annotations

import time

import numpy as np


def register(sub):
    p = sub.add_parser("run", help="run a blob on inputs (int8 inference on the CPU)",
                       description="Run a .tcnn blob on float inputs given in the source model's "
                                   "layout; inputs are quantized at the edge, outputs dequantized.")
    p.add_argument("blob")
    p.add_argument("--input", "-i", required=True, help=".npy or .npz (key 'x') with a batch of inputs")
    p.add_argument("--output", "-o", help="write the outputs to this .npy (first output) or .npz (all outputs: y, or y0, y1, ...); "
                        "'.npy' is appended to a name without either suffix")
    p.add_argument("--batch-size", type=int, default=256)
    p.set_defaults(func=run)


def run(args):
    import tinycnn
    from tinycnn.dataset import load_inputs
    from tinycnn.fileio import atomic_open, check_output_path

    if args.output is not None:  # refused before the work, not after
        out = check_output_path(args.output, "output")
        if out.suffix.lower() not in (".npy", ".npz"):
            out = check_output_path(out.with_name(out.name + ".npy"), "output")  # np.save's rule
    model = tinycnn.load(args.blob)
    x = load_inputs(args.input)
    t0 = time.perf_counter()
    y = model.run(x, batch_size=args.batch_size)
    dt = time.perf_counter() - t0
    ys = y if isinstance(y, list) else [y]
    if args.output:
        with atomic_open(out, "wb", "output") as f:
            if out.suffix.lower() == ".npz":
                np.savez(f, **{("y" if len(ys) == 1 else f"y{k}"): a for k, a in enumerate(ys)})
            else:
                np.save(f, ys[0])
        print(f"wrote {out}: shape {ys[0].shape}")
    print(f"ran {len(x)} samples in {dt * 1e3:.1f} ms ({dt * 1e6 / max(len(x), 1):.0f} us/sample, "
          "including JIT warm-up on a cold cache)")
    for k, out in enumerate(ys):
        if out.ndim == 2 and out.shape[1] > 1:
            print(f"output {k}: shape {out.shape}; argmax of the first samples: {out.argmax(1)[:16].tolist()}")
        else:
            print(f"output {k}: shape {out.shape}; mean {out.mean():.4g}, std {out.std():.4g}")
    return 0
