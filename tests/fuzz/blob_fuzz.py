"""Blob fuzzer: mutants of every fixture blob (tests/fuzz/mutate.py), each loaded and run in a
subprocess under a memory limit. Acceptance: a TinyCNNError or a clean run; anything else (a
signal, a raw exception, a hang, a MemoryError) is a failure, reproducible from its seed:

    python tests/fuzz/blob_fuzz.py --seeds 1234        # re-run one case, in this process
    python tests/fuzz/blob_fuzz.py -n 200000           # a campaign (make fuzz-blobs N=...)

Workers run many cases each (batched); a watchdog thread ends a case that exceeds its timeout,
and a worker that dies (segfault, abort) is restarted after its last started case, which is
re-run alone to confirm it.
"""
from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE)]
MEMORY_LIMIT_BYTES = 3 << 30
HANG_EXIT = 86


def _load_fixtures(directory):
    from fixtures import fixture_blobs

    from tinycnn.blob.reader import read_blob
    return [(name, p.read_bytes(), read_blob(p)) for name, p in sorted(fixture_blobs(directory).items())]


def run_case(seed, fixtures) -> tuple:
    """(fixture, kind, status, detail); status ok | refused | unwritable | raw."""
    import numpy as np

    from mutate import make_case

    from tinycnn.blob.reader import graph_from_bytes
    from tinycnn.errors import TinyCNNError
    from tinycnn.ir import DTYPES
    from tinycnn.reference.float_ops import run_float
    from tinycnn.runtime import ExecutionPlan
    name, kind, buf = make_case(seed, fixtures)
    if buf is None:
        return name, kind, "unwritable", ""
    try:
        g = graph_from_bytes(buf, f"<fuzz {seed}>")
        rng = np.random.default_rng(seed)
        xs = []
        for i in g.inputs:
            t = g.tensors[i]
            dt = np.dtype(DTYPES[t.dtype])
            shape = t.concrete_shape(1)
            xs.append(rng.standard_normal(shape).astype(dt) if dt.kind == "f" else
                      rng.integers(np.iinfo(dt).min, int(np.iinfo(dt).max) + 1, shape).astype(dt))
        if g.tensors[g.inputs[0]].dtype == "float32":
            run_float(g, xs)
        else:
            for device in (False, True):
                plan = ExecutionPlan(g, 1, device=device)
                for i, x in zip(g.inputs, xs):
                    np.copyto(plan.buffers[i], x)
                plan.run()
        return name, kind, "ok", ""
    except TinyCNNError as exc:
        return name, kind, "refused", str(exc).splitlines()[0][:160]
    except BaseException as exc:  # noqa: BLE001  (what the fuzzer is looking for)
        return name, kind, "raw", f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"


def worker(seeds, fixtures_dir, timeout_s):
    """Run cases, one result line each: 'start SEED', then 'done SEED fixture kind status detail'."""
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    fixtures = _load_fixtures(fixtures_dir)
    current = {"seed": None, "t": 0.0}

    def watchdog():
        while True:
            time.sleep(0.05)
            if current["seed"] is not None and time.monotonic() - current["t"] > timeout_s:
                print(f"hang {current['seed']}", flush=True)
                os._exit(HANG_EXIT)
    threading.Thread(target=watchdog, daemon=True).start()
    for seed in seeds:
        print(f"start {seed}", flush=True)
        current["t"], current["seed"] = time.monotonic(), seed
        name, kind, status, detail = run_case(seed, fixtures)
        current["seed"] = None
        print(f"done {seed} {name} {kind} {status} {detail}".replace("\n", " "), flush=True)


def _spawn(seeds, fixtures_dir, timeout_s):
    cmd = [sys.executable, __file__, "--worker", "--fixtures", str(fixtures_dir), "--timeout", str(timeout_s),
           "--seeds", *map(str, seeds)]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    return p.returncode, p.stdout.splitlines(), p.stderr


def campaign(seeds, fixtures_dir, timeout_s=10.0, batch=500, log=print) -> dict:
    """Run every seed; returns counts and the failing cases [(seed, what)]."""
    _load_fixtures(fixtures_dir)  # build the fixture blobs once, outside the workers
    counts, failures = collections.Counter(), []
    pending = list(seeds)
    while pending:
        chunk, pending = pending[:batch], pending[batch:]
        rc, lines, stderr = _spawn(chunk, fixtures_dir, timeout_s)
        finished, started = set(), None
        for line in lines:
            parts = line.split(" ", 5)
            if parts[0] == "start":
                started = int(parts[1])
            elif parts[0] == "done":
                seed, status = int(parts[1]), parts[4]
                finished.add(seed)
                counts["cases"] += 1
                counts[status] += 1
                if status == "raw":
                    failures.append((seed, f"raw exception on {parts[2]}/{parts[3]}: {parts[5] if len(parts) > 5 else ''}"))
        if rc != 0 and started is not None and started not in finished:
            alone_rc, alone, alone_err = _spawn([started], fixtures_dir, timeout_s)  # confirm it alone
            what = "hang" if alone_rc == HANG_EXIT else ("crash" if alone_rc != 0 else "flaky crash")
            counts["cases"] += 1
            counts["hangs" if what == "hang" else "crashes"] += 1
            failures.append((started, f"{what} (exit {alone_rc}): {alone_err.strip().splitlines()[-1:] or ''}"))
            rest = chunk[chunk.index(started) + 1:]
            pending = rest + pending
        elif rc != 0:
            raise RuntimeError(f"fuzz worker failed before any case: {stderr[-2000:]}")
    counts["raw_exceptions"] = counts.pop("raw", 0)
    for k in ("crashes", "hangs", "raw_exceptions"):
        counts.setdefault(k, 0)
    return {"counts": dict(counts), "failures": failures}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=3000, help="number of cases (seeds start..start+n-1)")
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--seeds", type=int, nargs="*", help="run exactly these seeds")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per case")
    ap.add_argument("--batch", type=int, default=500, help="cases per worker process")
    ap.add_argument("--fixtures", default=os.path.join(tempfile.gettempdir(), "tinycnn-fuzz-fixtures"))
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        return worker(a.seeds, a.fixtures, a.timeout)
    seeds = a.seeds if a.seeds else range(a.start, a.start + a.n)
    if a.seeds and len(a.seeds) == 1:  # reproduce one case in this process, with its traceback
        print(run_case(a.seeds[0], _load_fixtures(a.fixtures)))
        return 0
    t0 = time.time()
    result = campaign(seeds, a.fixtures, a.timeout, a.batch)
    print(f"blob fuzz: {result['counts']} in {time.time() - t0:.0f} s")
    for seed, what in result["failures"][:50]:
        print(f"  seed {seed}: {what}")
    bad = sum(result["counts"][k] for k in ("crashes", "hangs", "raw_exceptions"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
