"""Binary 3x3 conv vs the int8 conv of the same shape (default 56x56x128 -> 128, SAME), both
through the runtime's kernel binders (the int8 one picks its own fast path), plus the three
popcount implementations on the same XOR-popcount loop.

    .venv/bin/python benchmarks/bench_binary.py [--size 56] [--channels 128] [--repeats 7]
Prints median times and the ratio (RESULTS.md records them)."""
from __future__ import annotations

import os

# both sides single-threaded: the int8 conv's GEMM path would otherwise use every core
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from tinycnn.bitpack import POPCOUNT_TABLE16, pack_signs, popcount_ctpop, popcount_swar, popcount_table
from tinycnn.fixedpoint import quantize_multipliers
from tinycnn.ir import Graph, Node, Op
from tinycnn.jit import njit
from tinycnn.kernels.registry import bind
from tinycnn.quant.binarize import int8_output_affine, sign_thresholds
from tinycnn.reference.binary_float import channel_alpha


def _median_ms(fn, repeats):
    fn()  # compile / warm up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def _scratch(count, dtype, **_):
    return np.zeros(count, dtype)


def int8_conv(x, w, repeats):
    cout = w.shape[0]
    mult, shift = quantize_multipliers([0.001] * cout)
    node = Node("conv", Op.CONV_2D, ["x", "w", "b"], ["y"],
                {"stride": [1, 1], "dilation": [1, 1], "pad": [1, 1, 1, 1], "groups": 1,
                 "input_offset": 3, "output_offset": -2, "act_min": -128, "act_max": 127},
                {"output_multiplier": mult, "output_shift": shift})
    xq = np.clip(np.round(x * 40), -128, 127).astype(np.int8)
    wq = np.clip(np.round(w * 60), -127, 127).astype(np.int8)
    out = np.zeros(x.shape[:3] + (cout,), np.int8)
    call = bind(Graph(), node, [xq, wq, np.zeros(cout, np.int32)], out, _scratch)
    return _median_ms(call, repeats)


def binary_conv(x, w, repeats, output_mode):
    cout, _, _, cin = w.shape
    attrs = {"stride": [1, 1], "dilation": [1, 1], "pad": [1, 1, 1, 1], "pad_mode": "zero",
             "in_channels": cin, "in_pixels": 1, "out_channels": cout, "output_mode": output_mode}
    alpha, bias = channel_alpha(w), np.zeros(cout, np.float32)
    if output_mode == "packed":
        params = {"threshold": sign_thresholds(attrs, alpha, bias, 9 * cin)}
        out = np.zeros(x.shape[:3] + (pack_signs(np.zeros(cout)).shape[0],), np.uint32)
    else:
        fields, params = int8_output_affine(alpha, bias, 0.5, 0, None, 9 * cin)
        attrs.update(fields)
        out = np.zeros(x.shape[:3] + (cout,), np.int8)
    node = Node("bconv", Op.BINARY_CONV_2D, ["x", "w"], ["y"], attrs, params)
    call = bind(Graph(), node, [pack_signs(x), pack_signs(w)], out, _scratch)
    return _median_ms(call, repeats)


@njit
def _xor_pop_ctpop(a, b):
    s = 0
    for i in range(a.shape[0]):
        s += popcount_ctpop(a[i] ^ b[i])
    return s


@njit
def _xor_pop_swar(a, b):
    s = 0
    for i in range(a.shape[0]):
        s += popcount_swar(a[i] ^ b[i])
    return s


@njit
def _xor_pop_table(a, b, table):
    s = 0
    for i in range(a.shape[0]):
        s += popcount_table(a[i] ^ b[i], table)
    return s


def popcounts(repeats):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2**32, 4_000_000, dtype=np.uint64).astype(np.uint32)
    b = rng.integers(0, 2**32, 4_000_000, dtype=np.uint64).astype(np.uint32)
    res = {"ctpop (LLVM intrinsic)": _median_ms(lambda: _xor_pop_ctpop(a, b), repeats),
           "SWAR": _median_ms(lambda: _xor_pop_swar(a, b), repeats),
           "65536-entry table": _median_ms(lambda: _xor_pop_table(a, b, POPCOUNT_TABLE16), repeats)}
    assert _xor_pop_ctpop(a, b) == _xor_pop_swar(a, b) == _xor_pop_table(a, b, POPCOUNT_TABLE16)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=56)
    ap.add_argument("--channels", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    c, s = args.channels, args.size
    x = rng.standard_normal((1, s, s, c)).astype(np.float32)
    w = rng.standard_normal((c, 3, 3, c)).astype(np.float32)
    t_int8 = int8_conv(x, w, args.repeats)
    t_bin_packed = binary_conv(x, w, args.repeats, "packed")
    t_bin_int8 = binary_conv(x, w, args.repeats, "int8")
    print(f"3x3 conv {s}x{s}x{c} -> {c}, SAME, batch 1, median of {args.repeats}:")
    print(f"  int8 conv (runtime binder)          {t_int8:9.2f} ms")
    print(f"  binary conv, packed output          {t_bin_packed:9.2f} ms   speed-up {t_int8 / t_bin_packed:5.1f}x")
    print(f"  binary conv, int8 output            {t_bin_int8:9.2f} ms   speed-up {t_int8 / t_bin_int8:5.1f}x")
    print("XOR + popcount of 4M uint32 word pairs:")
    for name, ms in popcounts(args.repeats).items():
        print(f"  {name:<36s}{ms:9.2f} ms")


if __name__ == "__main__":
    main()
