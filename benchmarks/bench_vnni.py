"""AVX-512 VNNI int8 GEMM (tinycnn/kernels/vnni.py) vs the exact float32 np.matmul path of
tinycnn/kernels/conv_gemm.py, on the MobileNetV1 1.0 224x224 pointwise (1x1) GEMM shapes,
single thread, batch 1. Prints a markdown table of median GMAC/s (GEMM only: neither the
int8->float32 / int8->uint8 conversion nor requantization is timed).

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_vnni.py [--repeats 50]
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tinycnn.kernels import vnni  # noqa: E402

SHAPES = [(12544, 32, 64), (3136, 128, 128), (784, 256, 256), (196, 512, 512), (49, 1024, 1024)]


def median_s(fn, repeats):
    fn()
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=50)
    args = ap.parse_args(argv)
    if not vnni.available():
        print("this CPU (or Numba target) has no AVX-512 VNNI: nothing to benchmark")
        return 1
    rng = np.random.default_rng(0)
    print("| P x K x Cout | MMAC | f32 np.matmul GMAC/s | VNNI GMAC/s | speed-up | exact |")
    print("|---|---:|---:|---:|---:|---|")
    tot_f = tot_v = tot_mac = 0.0
    for p, k, cout in SHAPES:
        x = rng.integers(-128, 128, (p, k), dtype=np.int8)
        w = rng.integers(-128, 128, (cout, k), dtype=np.int8)
        col = x.astype(np.float32)
        w_t = np.ascontiguousarray(w.T, dtype=np.float32)
        acc = np.empty((p, cout), np.float32)
        a_u8 = (x.view(np.uint8) ^ 0x80)  # = x + 128
        packed = vnni.pack_weights(w)
        out = np.empty((p, cout), np.int32)
        t_f = median_s(lambda: np.matmul(col, w_t, out=acc), args.repeats)
        t_v = median_s(lambda: vnni.gemm_u8s8_raw(a_u8, packed.data, k, cout, out), args.repeats)
        ref = x.astype(np.int64) @ w.astype(np.int64).T
        exact = np.array_equal(out.astype(np.int64) - 128 * packed.wsum[None, :], ref)
        macs = p * k * cout
        tot_f += t_f
        tot_v += t_v
        tot_mac += macs
        print(f"| {p} x {k} x {cout} | {macs / 1e6:.1f} | {macs / t_f / 1e9:.1f} | "
              f"{macs / t_v / 1e9:.1f} | {t_f / t_v:.2f}x | {'yes' if exact else 'NO'} |")
    print(f"| total | {tot_mac / 1e6:.1f} | {tot_mac / tot_f / 1e9:.1f} | "
          f"{tot_mac / tot_v / 1e9:.1f} | {tot_f / tot_v:.2f}x | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
