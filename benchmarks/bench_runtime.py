"""tinycnn int8 vs ONNX Runtime float and ONNX Runtime int8 (its own static QDQ per-channel
quantization), single-threaded, batch 1, in one process. Prints a markdown table of medians
and ratios; `--write` appends it to benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/bench_runtime.py [--repeats 30] [--write]
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # single-threaded BLAS for the GEMM path
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tinycnn  # noqa: E402
from tests.onnx_builders import mobilenet_v1  # noqa: E402
from tinycnn.report import sqnr_db  # noqa: E402

MODELS = [("MobileNetV1 a=0.25 96x96", 0.25, 96), ("MobileNetV1 a=1.0 224x224", 1.0, 224)]


def median_ms(fn, repeats):
    fn()
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3)


def ort_session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def ort_quantize(src, dst, calib):
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"input": calib[i:i + 1]} for i in range(len(calib))])

        def get_next(self):
            return next(self.it, None)
    pre = str(dst) + ".pre.onnx"
    quant_pre_process(str(src), pre, skip_symbolic_shape=True)
    quantize_static(pre, str(dst), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)


def bench(name, alpha, res, repeats, work):
    model, shape = mobilenet_v1(alpha, res)
    f32 = work / f"mv1_{alpha}_{res}.onnx"
    onnx.save(model, f32)
    rng = np.random.default_rng(0)
    calib = rng.uniform(-1, 1, (32,) + shape[1:]).astype(np.float32)
    x = rng.uniform(-1, 1, (1,) + shape[1:]).astype(np.float32)
    q8 = work / f"mv1_{alpha}_{res}_qdq.onnx"
    ort_quantize(f32, q8, calib)
    s_f32, s_q8 = ort_session(f32), ort_session(q8)
    blob = tinycnn.convert(f32, calib=calib, output=work / f"mv1_{alpha}_{res}.tcnn")
    m = tinycnn.load(blob)
    xs = np.concatenate([x, rng.uniform(-1, 1, (15,) + shape[1:]).astype(np.float32)])
    ref = np.concatenate([s_f32.run(None, {"input": xs[i:i + 1]})[0] for i in range(16)])
    sq_t = sqnr_db(ref, m.run(xs))
    sq_o = sqnr_db(ref, np.concatenate([s_q8.run(None, {"input": xs[i:i + 1]})[0] for i in range(16)]))
    t_f32 = median_ms(lambda: s_f32.run(None, {"input": x}), repeats)
    t_q8 = median_ms(lambda: s_q8.run(None, {"input": x}), repeats)
    t_tc = median_ms(lambda: m.run(x), repeats)
    return {"model": name, "ort_f32_ms": t_f32, "ort_int8_ms": t_q8, "tinycnn_int8_ms": t_tc,
            "ratio_vs_ort_int8": t_tc / t_q8, "ratio_vs_ort_f32": t_tc / t_f32,
            "sqnr_tinycnn_db": sq_t, "sqnr_ort_int8_db": sq_o}


def bench_tflite(repeats):
    """int8 .tflite fixtures: tinycnn (bit-exact import) vs the TFLite Micro interpreter."""
    from tinycnn.oracles import tflm
    rows = []
    for path in sorted((ROOT / "tests" / "data" / "tflite").glob("*.tflite")):
        if path.stem in ("float32", "legacy_uint8", "float_io"):
            continue
        data = np.load(path.with_name(path.stem + "_data.npz"))
        with tempfile.TemporaryDirectory() as d:
            m = tinycnn.load(tinycnn.convert(path, output=Path(d) / "m.tcnn"))
        xq = m.quantize_input(data["x_test"][:1].astype(np.float32))
        interp = tflm._make(tflm._read(path), tflm._model_info(tflm._read(path)), False, None)

        def run_tflm():
            interp.set_input(xq, 0)
            interp.invoke()
            return interp.get_output(0)
        same = np.array_equal(run_tflm().reshape(-1), m.run_quantized([xq])[0].reshape(-1))
        t_tflm = median_ms(run_tflm, repeats)
        t_tc = median_ms(lambda: m.run_quantized([xq]), repeats)
        rows.append({"model": path.stem, "tflm_ms": t_tflm, "tinycnn_ms": t_tc, "bit_exact": same})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--write", action="store_true", help="append the table to benchmarks/RESULTS.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        rows = [bench(n, a, r, args.repeats, Path(d)) for n, a, r in MODELS]
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")),
               platform.processor())
    lines = [f"### Runtime: tinycnn int8 vs ONNX Runtime ({date.today().isoformat()})", "",
             f"Command: `.venv/bin/python benchmarks/bench_runtime.py --repeats {args.repeats}`  ",
             f"Machine: {cpu}, {os.cpu_count()} cores; single-threaded (ORT intra/inter-op 1, "
             f"OPENBLAS_NUM_THREADS=1), batch 1, median of {args.repeats} runs; "
             f"onnxruntime {ort.__version__}, numpy {np.__version__}. Random-weight models "
             "(tests/onnx_builders.py), calibrated on the same 32 random inputs for both int8 engines.", "",
             "| model | ORT float ms | ORT int8 (QDQ, per-channel) ms | tinycnn int8 ms | tinycnn / ORT int8 "
             "| tinycnn / ORT float | SQNR tinycnn dB | SQNR ORT int8 dB |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['ort_f32_ms']:.2f} | {r['ort_int8_ms']:.2f} | {r['tinycnn_int8_ms']:.2f} "
                     f"| {r['ratio_vs_ort_int8']:.2f}x | {r['ratio_vs_ort_f32']:.2f}x | {r['sqnr_tinycnn_db']:.1f} "
                     f"| {r['sqnr_ort_int8_db']:.1f} |")
    tfl = bench_tflite(args.repeats)
    lines += ["", "int8 `.tflite` fixtures (tests/data/tflite), batch 1: tinycnn (imported, bit-exact) vs the "
              "TFLite Micro Python interpreter (`tflite-micro` package, reference kernels), same process:", "",
              "| model | TFLM ms | tinycnn ms | TFLM / tinycnn | outputs identical |", "|---|---|---|---|---|"]
    for r in tfl:
        lines.append(f"| {r['model']} | {r['tflm_ms']:.3f} | {r['tinycnn_ms']:.3f} | "
                     f"{r['tflm_ms'] / r['tinycnn_ms']:.1f}x | {'yes' if r['bit_exact'] else 'NO'} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        with open(ROOT / "benchmarks" / "RESULTS.md", "a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
