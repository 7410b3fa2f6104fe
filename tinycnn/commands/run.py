from __future__ import annotations

import time

import numpy as np


def register(sub):
    p = sub.add_parser("run", help="run a blob on inputs (int8 inference on the CPU)",
                       description="Run a .tcnn blob on float inputs given in the source model's "
                                   "layout; inputs are quantized at the edge, outputs dequantized.")
    p.add_argument("blob")
    p.add_argument("--input", "-i", required=True, help=".npy or .npz (key 'x') with a batch of inputs")
    p.add_argument("--output", "-o", help="write the outputs to this .npy")
    p.add_argument("--batch-size", type=int, default=256)
    p.set_defaults(func=run)


def run(args):
    import tinycnn
    from tinycnn.dataset import load_inputs

    model = tinycnn.load(args.blob)
    x = load_inputs(args.input)
    t0 = time.perf_counter()
    y = model.run(x, batch_size=args.batch_size)
    dt = time.perf_counter() - t0
    ys = y if isinstance(y, list) else [y]
    if args.output:
        np.save(args.output, ys[0])
        print(f"wrote {args.output}: shape {ys[0].shape}")
    print(f"ran {len(x)} samples in {dt * 1e3:.1f} ms ({dt * 1e6 / max(len(x), 1):.0f} us/sample, "
          "including JIT warm-up on a cold cache)")
    for k, out in enumerate(ys):
        if out.ndim == 2 and out.shape[1] > 1:
            print(f"output {k}: shape {out.shape}; argmax of the first samples: {out.argmax(1)[:16].tolist()}")
        else:
            print(f"output {k}: shape {out.shape}; mean {out.mean():.4g}, std {out.std():.4g}")
    return 0
