"""The MicroPython runtime in real MicroPython (webassembly port under node): per-inference
time, MAC/s and heap of the bundled example, bytecode (.py) and precompiled (.mpy) module.

    .venv/bin/python benchmarks/bench_micropython.py [--samples 5]

Heap figures are live bytes measured with gc.mem_alloc() inside MicroPython between top-level
chunks (the only place this port collects garbage): the imported module, and the blob + model
tables + arena after load. Results go in benchmarks/RESULTS.md by hand."""
from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import numpy as np

import tinycnn
from tinycnn.commands.mpy_run import quantized_inputs
from tinycnn.mpy.host import run_blob

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        blob = tinycnn.convert(ROOT / "examples" / "digits_cnn.onnx",
                               calib=np.load(ROOT / "examples" / "digits_calib.npz")["x"], output=Path(tmp) / "d.tcnn")
        model = tinycnn.load(blob)
        macs = tinycnn.info(blob)["totals"]["macs"]
        xq = quantized_inputs(model, np.load(ROOT / "examples" / "digits_test.npz")["x"][:args.samples])
        want = model.run_quantized([xq])[0]
        print(f"bundled example: {macs:,} MACs/inference, blob {blob.stat().st_size:,} B, {args.samples} samples")
        for use_mpy in (False, True):
            got, st = run_blob(blob, [xq], use_mpy=use_mpy)
            ms = statistics.median(st["run_us"]) / 1e3
            heap = st["module_bytes"] + st["loaded_bytes"]
            print(f"  {'.mpy' if use_mpy else '.py '} module: median {ms:.0f} ms/inference = {macs / ms / 1e3:.3f} M MAC/s; "
                  f"module {st['module_bytes']:,} B + loaded {st['loaded_bytes']:,} B (arena {st['arena_bytes']:,} B) "
                  f"= heap {heap:,} B = blob + {heap - blob.stat().st_size:,} B; "
                  f"{st['alloc_per_run_bytes']:,} B short-lived per inference; "
                  f"bit-exact: {bool((got[0] == want).all())}")


if __name__ == "__main__":
    main()
