"""Executed instructions per MAC of the C runtime's kernel paths under qemu-system-arm -icount shift=0
(one instruction per virtual ns; the boards' SysTick ticks at the core clock, so instructions =
ticks * 1e9 / tick_hz, to within one tick: 31 instructions on the M55's 32 MHz, 40 on the M4's
25 MHz), per layer kind (1x1 conv, 3x3 conv, depthwise, FC), on MobileNetV1-0.25 96x96
(tests/onnx_builders.mobilenet_v1, random calibration): Cortex-M55 Helium/MVE, the M55 with MVE
compiled out (its DSP paths), the M55 portable C, Cortex-M4 DSP and M4 portable.

    .venv/bin/python benchmarks/bench_c_kernels.py [--out DIR]
Needs arm-none-eabi-gcc and qemu-system-arm (make firmware-tools); RESULTS_c_kernels.md records it."""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tinycnn  # noqa: E402
from firmware_sim.export_c import export_project  # noqa: E402
from tinycnn.costs import node_macs  # noqa: E402

MACHINES = {"cortex-m4": ("mps2-an386", 25e6), "cortex-m55": ("mps3-an547", 32e6)}
PATHS = [("M55 MVE", "cortex-m55", ""), ("M55 DSP (MVE off)", "cortex-m55", "-U__ARM_FEATURE_MVE"),
         ("M55 portable", "cortex-m55", "-U__ARM_FEATURE_MVE -U__ARM_FEATURE_DSP"),
         ("M4 DSP", "cortex-m4", ""), ("M4 portable", "cortex-m4", "-U__ARM_FEATURE_DSP")]
KINDS = ("conv1x1", "conv3x3", "depthwise", "fc")


def _kind(g, n):
    if n.op.value == "CONV_2D":
        w = g.tensors[n.inputs[1]].shape
        return f"conv{w[1]}x{w[2]}"
    return {"DEPTHWISE_CONV_2D": "depthwise", "FULLY_CONNECTED": "fc"}.get(n.op.value, "other")


def _instructions(blob, target, flags, x, where):
    proj = export_project(blob, where)
    shutil.rmtree(proj / "build", ignore_errors=True)
    subprocess.run(["make", "-s", "-C", str(proj), f"TARGET={target}", f"EXTRA_CFLAGS={flags}"], check=True,
                   capture_output=True)
    (proj / "in.bin").write_bytes(x.tobytes())
    machine, hz = MACHINES[target]
    subprocess.run(["qemu-system-arm", "-M", machine, "-nographic", "-monitor", "none", "-serial", "null", "-icount",
                    "shift=0", "-semihosting-config", "enable=on,target=native", "-kernel", f"build/{target}/model.elf"],
                   cwd=proj, check=True, capture_output=True, timeout=1800)
    lines = (proj / "layers.txt").read_text().splitlines()
    return [int(t.split()[3]) * 1e9 / hz for t in lines if t.startswith("ticks 0 ")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=None, help="work directory (default: a temporary one)")
    args = ap.parse_args()
    from tests.onnx_builders import mobilenet_v1
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_c_"))
    out.mkdir(parents=True, exist_ok=True)
    model, in_shape = mobilenet_v1(alpha=0.25, res=96)
    (out / "mbv1.onnx").write_bytes(model.SerializeToString())
    calib = np.random.default_rng(0).standard_normal((8,) + tuple(in_shape[1:])).astype(np.float32)
    blob = tinycnn.convert(out / "mbv1.onnx", calib=calib, output=out / "mbv1.tcnn")
    g = tinycnn.load(blob).graph
    kinds = [_kind(g, n) for n in g.nodes]
    macs = [node_macs(g, n) for n in g.nodes]
    x = np.zeros((1,) + tuple(g.tensors[g.inputs[0]].shape[1:]), np.int8)
    print(f"MobileNetV1-0.25 96x96 int8: {sum(macs):,} MACs; instructions per MAC")
    print(f"| path | {' | '.join(KINDS)} | whole model (M instructions, per MAC) |")
    print("|---|" + "---|" * (len(KINDS) + 1))
    for k, (label, target, flags) in enumerate(PATHS):
        ins = _instructions(blob, target, flags, x, out / f"p{k}")
        cells = []
        for kind in KINDS:
            sel = [i for i, kk in enumerate(kinds) if kk == kind]
            cells.append(f"{sum(ins[i] for i in sel) / sum(macs[i] for i in sel):.2f}" if sel else "-")
        print(f"| {label} | {' | '.join(cells)} | {sum(ins) / 1e6:.1f}, {sum(ins) / sum(macs):.2f} |", flush=True)


if __name__ == "__main__":
    main()
