"""Executed instructions of the C runtime on emulated Cortex-M cores (tinycnn emulate: QEMU
-icount shift=0 + the TCG plugin, exact counts): instructions per MAC per layer kind (1x1 conv,
3x3 conv, 3x3 depthwise, fully connected) and whole-model instructions for MLPerf-Tiny-architecture
models (ResNet-8, DS-CNN, MobileNetV1-0.25 96x96, FC autoencoder), random weights, int8.

    .venv/bin/python benchmarks/bench_instructions.py [--targets cortex-m4,cortex-m3,cortex-m55] [--markdown]

cortex-m4: Armv7E-M DSP paths (SMLAD/SXTB16); cortex-m3: the portable C kernels (no DSP);
cortex-m55: the build for Armv8.1-M (MVE paths where the runtime has them)."""
from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.mlperf_tiny_models import LAYER_KINDS, MODELS  # noqa: E402


def convert(name, builder, d: Path):
    import onnx

    import tinycnn
    model, shape = builder()
    onnx.save(model, d / f"{name}.onnx")
    x = np.random.default_rng(3).uniform(-1, 1, (16,) + tuple(shape[1:])).astype(np.float32)
    return tinycnn.convert(d / f"{name}.onnx", calib=x, output=d / f"{name}.tcnn")


def main(argv=None):
    from firmware_sim.emulate import emulate

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--targets", default="cortex-m4,cortex-m3,cortex-m55")
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables (benchmarks/RESULTS.md)")
    args = ap.parse_args(argv)
    targets = args.targets.split(",")
    d = Path(tempfile.mkdtemp(prefix="bench_insns_"))
    kind_rows, model_rows = [], []
    for kind, (builder, op) in LAYER_KINDS.items():
        blob = convert(kind.replace(" ", "_"), builder, d)
        row = {"kind": kind}
        for t in targets:
            r = emulate(blob, t)
            assert r.matches_cpu, (kind, t)
            layer = max((la for la in r.layers if la["op"] == op), key=lambda la: la["macs"])
            row[t] = layer["instructions"] / layer["macs"]
            row["macs"] = layer["macs"]
            print(f"{kind:10s} {t:11s} {row[t]:6.2f} instructions/MAC ({layer['macs']:,} MACs)", flush=True)
        kind_rows.append(row)
    for name, builder in MODELS.items():
        blob = convert(name.split()[0].lower(), builder, d)
        row = {"model": name}
        for t in targets:
            r = emulate(blob, t)
            assert r.matches_cpu, (name, t)
            macs = sum(la["macs"] for la in r.layers)
            row[t] = (r.instructions, r.instructions / macs, r.flash_bytes, r.ram_bytes)
            row["macs"] = macs
            print(f"{name:28s} {t:11s} {r.instructions:12,} instructions ({r.instructions / macs:.2f}/MAC, "
                  f"{macs:,} MACs), flash {r.flash_bytes:,} B, static RAM {r.ram_bytes:,} B", flush=True)
        model_rows.append(row)
    if args.markdown:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        print(f"\nCommand: `.venv/bin/python benchmarks/bench_instructions.py --targets {args.targets} --markdown`  ")
        print(f"Machine: {platform.machine()} host, {platform.python_version()}; QEMU 7.2 (Debian), "
              f"arm-none-eabi-gcc -O2; {stamp}\n")
        print("| layer kind | MACs | " + " | ".join(f"{t} insn/MAC" for t in targets) + " |")
        print("|---|---|" + "---|" * len(targets))
        for row in kind_rows:
            print(f"| {row['kind']} | {row['macs']:,} | " + " | ".join(f"{row[t]:.2f}" for t in targets) + " |")
        print("\n| model | MACs | " + " | ".join(f"{t} instructions (per MAC)" for t in targets) + " |")
        print("|---|---|" + "---|" * len(targets))
        for row in model_rows:
            print(f"| {row['model']} | {row['macs']:,} | "
                  + " | ".join(f"{row[t][0]:,} ({row[t][1]:.2f})" for t in targets) + " |")
        print("\n| model | " + " | ".join(f"{t} flash / static RAM B" for t in targets) + " |")
        print("|---|" + "---|" * len(targets))
        for row in model_rows:
            print(f"| {row['model']} | " + " | ".join(f"{row[t][2]:,} / {row[t][3]:,}" for t in targets) + " |")


if __name__ == "__main__":
    main()
