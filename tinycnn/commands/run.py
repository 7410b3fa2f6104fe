from __future__ import annotations

import time

import numpy as np


def register(sub):
    p = sub.add_parser("run", help="run a blob on inputs (int8 inference on the CPU)",
                       description="Run a .tcnn blob on inputs given in the source model's layout. Float "
                                   "inputs are quantized at the edge and outputs dequantized; integer "
                                   "inputs of the model's raw input dtype (int8, or uint8 for legacy "
                                   "uint8 TFLite models) go in unchanged and the raw int8/uint8 outputs "
                                   "come out, as from the TFLite interpreter.")
    p.add_argument("blob")
    p.add_argument("--input", "-i", required=True, help=".npy or .npz (key 'x') with a batch of inputs")
    p.add_argument("--output", "-o", help="write the outputs here: .npy for a single-output model, "
                                          ".npz with one array per output name otherwise")
    p.add_argument("--batch-size", type=int, default=256,
                   help="samples run per call (bounds the memory the runtime plans; results do not "
                        "depend on it; default: 256)")
    p.set_defaults(func=run)


def run(args):
    import tinycnn
    from tinycnn.dataset import load_inputs
    from tinycnn.fileio import check_output_path

    if args.output is not None:  # refused before the work, not after
        out = check_output_path(args.output, "output")
        if out.suffix.lower() not in (".npy", ".npz"):
            out = check_output_path(out.with_name(out.name + ".npy"), "output")  # np.save's rule
    model = tinycnn.load(args.blob)
    x = load_inputs(args.input, native=True)
    t0 = time.perf_counter()
    y = model.run(x, batch_size=args.batch_size)
    dt = time.perf_counter() - t0
    ys = y if isinstance(y, list) else [y]
    names = model.output_names
    if args.output:
        path = save_outputs(out, names, ys)
        print(f"wrote {path}: " + ", ".join(f"{n} {tuple(o.shape)} {o.dtype}" for n, o in zip(names, ys)))
    print(f"ran {len(x)} samples in {dt * 1e3:.1f} ms ({dt * 1e6 / max(len(x), 1):.0f} us/sample, "
          "including JIT warm-up on a cold cache)")
    for k, (name, out) in enumerate(zip(names, ys)):
        head = f"output {k} ({name}): shape {out.shape} {out.dtype}"
        if out.ndim == 2 and out.shape[1] > 1:
            print(f"{head}; argmax of the first samples: {out.argmax(1)[:16].tolist()}")
        else:
            o = out.astype(np.float64)
            print(f"{head}; mean {o.mean():.4g}, std {o.std():.4g}")
    return 0


def save_outputs(path, names, ys):
    """One output: .npy (or .npz under its name if the path says .npz). Several: .npz with one
    key per output name (a .npy path becomes .npz). Written to a temp file, then renamed."""
    from pathlib import Path

    from tinycnn.fileio import atomic_open, check_output_path

    path = Path(path)
    if len(ys) > 1 and path.suffix.lower() != ".npz":
        path = check_output_path(path.with_suffix(".npz"), "output")
    with atomic_open(path, "wb", "output") as f:
        if path.suffix.lower() == ".npz":
            np.savez(f, **{n or f"output_{k}": y for k, (n, y) in enumerate(zip(names, ys))})
        else:
            np.save(f, ys[0])
    return path
