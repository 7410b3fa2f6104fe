"""Requantization in real MicroPython (webassembly port under node): the big-integer form the
kernels used before (BIGINT below, the former _mbqm: raw int32 multiplier in [2^30, 2^31) read
from an array('i'), one 64-bit product) against
the small-int form (_mbqe: the multiplier prepared as m - 2^30, 15-bit limbs): us per call and
bytes allocated per call, on accumulators spread log-uniformly over 2^6..2^24 (both signs), with
per-channel multipliers and shifts of 16 channels. The results are checked to be equal.

    .venv/bin/python benchmarks/bench_micropython_requant.py [--calls 6000] [--repeat 3]"""
from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

SCRIPT = """
import sys, gc, time, array
sys.path.insert(0, "/mpy")
import tinycnn_mp as t
import random
random.seed(7)
N, REPEAT = {calls}, {repeat}
accs = [random.choice((-1, 1)) * int(2 ** (6 + 18 * random.random())) for _ in range(N)]
raw = array.array("i", [random.randint(1 << 30, (1 << 31) - 1) for _ in range(16)])
prep = t._mbq_prepare(raw)
shifts = array.array("i", [-random.randint(5, 12) for _ in range(16)])

def bigint(x, m, s):  # the former tinycnn_mp._mbqm
    if s > 0:
        x <<= s
    if x == -2147483648 and m == -2147483648:
        h = 2147483647
    else:
        ab = x * m
        if ab >= 0:
            h = (ab + 1073741824) >> 31
        else:
            h = -((-(ab + (1 - (1 << 30)))) >> 31)
    if s >= 0:
        return h
    e = -s
    mask = (1 << e) - 1
    thr = mask >> 1
    if h < 0:
        thr += 1
    if (h & mask) > thr:
        return (h >> e) + 1
    return h >> e

def run_raw(f, mult):
    out = 0
    c = 0
    for x in accs:
        out += f(x, mult[c], shifts[c])
        c = (c + 1) & 15
    return out

for name, f, mult in (("big-integer (before)", bigint, raw), ("_mbqe (prepared e)", t._mbqe, prep)) * REPEAT:
    gc.collect()
    a0 = gc.mem_alloc()
    t0 = time.ticks_us()
    s = run_raw(f, mult)
    dt = time.ticks_diff(time.ticks_us(), t0)
    print("RESULT %s: %.2f us/call, %.1f B/call, checksum %d" % (name, dt / N, (gc.mem_alloc() - a0) / N, s))
_more = False
#---STEP---
#---STEP---
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=6000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from tinycnn.mpy import module_source
    from tinycnn.mpy.host import DRIVER, micropython_mjs
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "in").mkdir()
        (work / "in" / "tinycnn_mp.py").write_text(module_source())
        (work / "main.py").write_text(SCRIPT.format(calls=args.calls, repeat=args.repeat))
        r = subprocess.run(["node", str(DRIVER), str(micropython_mjs()), str(32 << 20), str(work)],
                           capture_output=True, text=True, timeout=900)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT")]
    if r.returncode != 0 or not lines:
        raise SystemExit(r.stderr[-2000:])
    sums = {ln.rsplit("checksum ", 1)[1] for ln in lines}
    for ln in lines:
        print(ln[7:])
    print("equal results:", len(sums) == 1)


if __name__ == "__main__":
    main()
