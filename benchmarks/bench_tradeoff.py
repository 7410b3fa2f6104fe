"""`tinycnn tradeoff` wall and CPU time on a MobileNetV3-Small-class model (tests/mnv3_builder.py:
~280 k parameters, 96x96x3, squeeze-excite, h-swish; classifier fitted on scikit-learn digits),
50 labelled samples, 100 calibration samples, default options (--jobs 2, mixed-precision search).

CPU seconds (this process + its worker processes) are printed besides the wall time: on a
machine shared with other work the wall time says more about the load than about tinycnn;
CPU / 2 is what an idle 2-core machine would take at best.

    .venv/bin/python benchmarks/bench_tradeoff.py [--samples 50] [--jobs 2] [--backend local|ray]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def cpu_seconds() -> float:
    r = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(x.ru_utime + x.ru_stime for x in r)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=50)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--backend", default="local")
    ap.add_argument("--json", help="write the tradeoff JSON here")
    args = ap.parse_args()
    import onnx

    from tests.mnv3_builder import digits_inputs, fit_classifier, mobilenet_v3_small, param_count
    from tinycnn.explorer import tradeoff
    x, y = digits_inputs(96)
    model, _ = mobilenet_v3_small()
    fit_classifier(model, x[400:], y[400:])
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        onnx.save(model, d / "mnv3.onnx")
        np.savez(d / "data.npz", x=x[100:100 + args.samples], y=y[100:100 + args.samples])
        np.savez(d / "calib.npz", x=x[:100])
        t0, c0 = time.perf_counter(), cpu_seconds()
        res = tradeoff(d / "mnv3.onnx", d / "data.npz", d / "calib.npz", jobs=args.jobs, backend=args.backend)
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    print(res.format())
    if args.json:
        res.save_json(args.json)
    print(json.dumps({"params": param_count(model), "samples": args.samples, "jobs": args.jobs,
                      "backend": args.backend, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
                      "load_avg_1min": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
