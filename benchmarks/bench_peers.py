"""tinycnn vs LiteRT (XNNPACK, its default delegate), LiteRT's reference kernels and the TFLite
Micro interpreter on the same int8 .tflite files (MLPerf Tiny architectures + 224x224 MobileNets,
benchmarks/models/make_bench_models.py), one thread, batch 1, all in one process.

The engines are timed interleaved (round r runs every engine once); each timed sample is a loop
of >= ~2 ms; medians per engine of this thread's CPU time per call (wall-time ratios are printed
too: on a shared machine they mostly measure preemption), ratios of medians. Before timing, tinycnn's outputs are checked bit-exact against TFLM (the
reference tinycnn follows) on random int8 inputs; equality with XNNPACK is reported too.

    .venv/bin/python benchmarks/bench_peers.py [--rounds 15] [--models DIR ...] [--profile] [--write]
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tinycnn  # noqa: E402
from tinycnn.oracles import tflm  # noqa: E402

ORDER = ["resnet8", "ds_cnn", "mbv1_025_96", "fc_ae", "mbv2_224", "mbv1_224"]
DIRS = [ROOT / "benchmarks" / "models", ROOT / ".bench-cache"]
CHECK_INPUTS = 20


def find_models(dirs):
    found = {}
    for d in dirs:
        for p in sorted(Path(d).glob("*.tflite")):
            found.setdefault(p.stem, p)
    return sorted(found.items(), key=lambda kv: ORDER.index(kv[0]) if kv[0] in ORDER else len(ORDER))


def litert(path, reference=False):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    kind = OpResolverType.BUILTIN_REF if reference else OpResolverType.AUTO
    it = Interpreter(model_path=str(path), num_threads=1, experimental_op_resolver_type=kind)
    it.allocate_tensors()
    i_in, i_out = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]

    def run(x):
        it.set_tensor(i_in, x)
        it.invoke()
        return it.get_tensor(i_out)
    return run


def tflm_runner(path):
    data = tflm._read(path)
    it = tflm._make(data, tflm._model_info(data), False, None)

    def run(x):
        it.set_input(x, 0)
        it.invoke()
        return it.get_output(0)
    return run


def engines(path, m, big):
    """The engines timed on one model. On the 224x224 models LiteRT's BUILTIN_REF resolver and the
    TFLM interpreter abort (SIGABRT inside invoke, ai-edge-litert 2.3 / tflite-micro here), so
    there only XNNPACK is timed and tflite-runtime 2.14's reference kernels are the oracle."""
    eng = {"xnnpack": litert(path), "tinycnn": lambda x: m.run_quantized([x])[0]}
    if not big:
        eng.update(litert_ref=litert(path, reference=True), tflm=tflm_runner(path))
    return eng


def check(eng, path, shape, rng, count):
    """(tinycnn == the reference on all inputs, tinycnn == XNNPACK on all inputs): the reference
    is TFLM, or tflite-runtime's reference kernels (subprocess) where TFLM cannot run the model."""
    xs = rng.integers(-128, 128, (count,) + shape[1:], dtype=np.int8)
    xs[0], xs[1] = 127, -128  # saturating edge inputs
    ys = np.stack([eng["tinycnn"](x[None]).reshape(-1) for x in xs])
    if "tflm" in eng:
        ref = np.stack([eng["tflm"](x[None]).reshape(-1) for x in xs])
    else:
        from tinycnn.oracles import tflite_ref
        ref = tflite_ref.run(path, xs)[0].reshape(count, -1)
    xnn = np.stack([eng["xnnpack"](x[None]).reshape(-1) for x in xs])
    return bool(np.array_equal(ys, ref)), bool(np.array_equal(ys, xnn))


def interleaved(fns, x, rounds):
    """({fn: median CPU seconds per call}, {fn: median wall seconds per call}); fns timed
    round-robin, each sample a loop of >= 2 ms. CPU time (this thread's, ``time.thread_time``;
    every engine runs in the calling thread) is the primary figure: on a machine shared with
    other jobs wall time mostly measures preemption, which hits the engines unevenly."""
    inner = {}
    for k, fn in fns.items():
        fn(x)
        t0 = time.perf_counter()
        fn(x)
        inner[k] = max(1, int(2e-3 / max(time.perf_counter() - t0, 1e-7)))
    cpu, wall = defaultdict(list), defaultdict(list)
    for _ in range(rounds):
        for k, fn in fns.items():
            n = inner[k]
            c0, t0 = time.thread_time(), time.perf_counter()
            for _ in range(n):
                fn(x)
            wall[k].append((time.perf_counter() - t0) / n)
            cpu[k].append((time.thread_time() - c0) / n)
    return ({k: float(np.median(v)) for k, v in cpu.items()}, {k: float(np.median(v)) for k, v in wall.items()})


def profile(m, x, repeats=30):
    """Per-call median CPU µs (thread_time) of tinycnn's bound kernel calls (batch 1), largest first."""
    plan = m.plan(1)
    np.copyto(plan.buffers[m.graph.inputs[0]], x)
    t = np.zeros((repeats, len(plan.calls)))
    for r in range(repeats):
        for j, call in enumerate(plan.calls):
            t0 = time.thread_time()
            call()
            t[r, j] = time.thread_time() - t0
    med = np.median(t, 0) * 1e6
    rows = []
    for node, us in zip(plan.call_nodes, med):
        shp = "x".join(str(s) for s in m.graph.tensors[node.outputs[0]].concrete_shape(1)[1:])
        ws = [m.graph.tensors[i].data.shape for i in node.inputs[1:2] if i and m.graph.tensors[i].is_const]
        rows.append((us, node.op.value, shp, "x".join(map(str, ws[0])) if ws else "", node.name))
    total = med.sum()
    print(f"  profile: {len(rows)} calls ({len(m.graph.nodes)} nodes), sum of call medians {total:.0f} µs")
    for us, op, shp, w, name in sorted(rows, reverse=True)[:12]:
        print(f"    {us:8.1f} µs {100 * us / total:5.1f}%  {op:18s} out {shp:12s} w {w:14s} {name[:40]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--models", nargs="*", default=[str(d) for d in DIRS], help="directories with .tflite files")
    ap.add_argument("--only", nargs="*", help="model names (file stems)")
    ap.add_argument("--profile", action="store_true", help="print tinycnn's per-node timings")
    ap.add_argument("--write", action="store_true", help="append the table to benchmarks/RESULTS.md")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for name, path in find_models(args.models):
        if args.only and name not in args.only:
            continue
        with tempfile.TemporaryDirectory() as d:
            m = tinycnn.load(tinycnn.convert(path, output=Path(d) / "m.tcnn"))
        big = name.endswith("_224")
        eng = engines(path, m, big)
        shape = tuple(m.graph.tensors[m.graph.inputs[0]].concrete_shape(1))
        ex_ref, ex_xnn = check(eng, path, shape, rng, 4 if big else CHECK_INPUTS)
        x = rng.integers(-128, 128, shape, dtype=np.int8)
        t, wall = interleaved(eng, x, args.rounds)
        row = dict(model=name, oracle="tflite-runtime ref" if big else "TFLM", exact_ref=ex_ref, exact_xnn=ex_xnn,
                   wall_ratio=wall["tinycnn"] / wall["xnnpack"], **{k: v * 1e3 for k, v in t.items()})
        rows.append(row)
        print(f"{name:12s} tinycnn {row['tinycnn']:8.3f} ms  xnnpack {row['xnnpack']:8.3f} ms  "
              f"ratio {row['tinycnn'] / row['xnnpack']:5.2f}x  tflm {_ms(row, 'tflm')}  ref {_ms(row, 'litert_ref')}  "
              f"exact vs {row['oracle']}: {ex_ref}  == XNNPACK: {ex_xnn}", flush=True)
        if args.profile:
            profile(m, x)
    write_table(rows, args)


def _ms(row, key):
    return f"{row[key]:.3f}" if key in row else "—"


def geomean(v):
    return float(np.exp(np.mean(np.log(v))))


def write_table(rows, args):
    import ai_edge_litert
    import numba
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    vnni = "TINYCNN_NO_VNNI=1, " if os.environ.get("TINYCNN_NO_VNNI") else ""
    lines = [f"### Peers: tinycnn vs LiteRT XNNPACK / LiteRT reference / TFLite Micro ({now})", "",
             f"Command: `{vnni}.venv/bin/python benchmarks/bench_peers.py --rounds {args.rounds}`  ",
             f"Machine: {cpu}, {os.cpu_count()} cores (shared, load average {os.getloadavg()[0]:.0f}), one thread, "
             f"batch 1; interleaved rounds, medians of per-call CPU time (thread_time); ai-edge-litert {ai_edge_litert.__version__ if hasattr(ai_edge_litert, '__version__') else '?'}, "
             f"numba {numba.__version__}, numpy {np.__version__}.", "",
             "| model | tinycnn ms | XNNPACK ms | tinycnn / XNNPACK | LiteRT ref ms | TFLM ms | TFLM / tinycnn "
             "| bit-exact vs | == XNNPACK | wall-time ratio |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        tflm_ratio = f"{r['tflm'] / r['tinycnn']:.1f}x" if "tflm" in r else "—"
        lines.append(f"| {r['model']} | {r['tinycnn']:.3f} | {r['xnnpack']:.3f} | {r['tinycnn'] / r['xnnpack']:.2f}x "
                     f"| {_ms(r, 'litert_ref')} | {_ms(r, 'tflm')} | {tflm_ratio} "
                     f"| {r['oracle']}: {'yes' if r['exact_ref'] else 'NO'} | {'yes' if r['exact_xnn'] else 'no'} "
                     f"| {r['wall_ratio']:.2f}x |")
    if rows:
        g = geomean([r["tinycnn"] / r["xnnpack"] for r in rows])
        lines += ["", f"Geomean tinycnn / XNNPACK over {len(rows)} models: **{g:.2f}x**; "
                  f"max {max(r['tinycnn'] / r['xnnpack'] for r in rows):.2f}x (CPU time); geomean of the "
                  f"wall-time ratios {geomean([r['wall_ratio'] for r in rows]):.2f}x."]
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    if args.write:
        with open(ROOT / "benchmarks" / "RESULTS.md", "a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
