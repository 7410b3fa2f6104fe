"""Run the exported MicroPython runtime in real MicroPython: the webassembly port from npm
(``@micropython/micropython-webassembly-pyscript``) under node, driven by ``driver.mjs``.

``run_blob(blob, inputs)`` exports tinycnn_mp.py + the blob into a temporary folder, writes the
quantized NHWC inputs as raw little-endian samples, runs one ``m.run(x)`` per sample inside
MicroPython and reads the outputs back, with timing and heap figures measured there
(``gc.mem_alloc()`` after ``gc.collect()`` before load, after load and after every node)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from tinycnn.errors import TinyCNNError

NPM_PACKAGE = "@micropython/micropython-webassembly-pyscript"
REPO = Path(__file__).resolve().parents[2]
DEFAULT_MJS = REPO / ".mpy-node" / "node_modules" / NPM_PACKAGE / "micropython.mjs"
DRIVER = Path(__file__).with_name("driver.mjs")
TYPECODES = {"int8": "b", "uint8": "B", "int16": "h"}

RUNNER = """
import sys
sys.path.insert(0, "/mpy")
import gc, time, array, json
_base = gc.mem_alloc()
import tinycnn_mp
_stats = {"run_us": [], "alloc_per_run_bytes": 0}
_stage = 0
_more = True
#---STEP---
if _stage == 0:  # live heap of the imported module (the collector ran between chunks)
    _stats["module_bytes"] = gc.mem_alloc() - _base
    _base = gc.mem_alloc()
    m = tinycnn_mp.load("/mpy/model.tcnn")
elif _stage == 1:
    _stats["loaded_bytes"] = gc.mem_alloc() - _base  # blob + model + arena, live after load
    _xs = [array.array(tc, range(n)) for tc, n in SPECS]
    _fins = [open("/mpy/x%d.bin" % k, "rb") for k in range(len(SPECS))]
    _fout = open("/mpy/out/y.bin", "wb")
    _sample = 0
else:
    if _sample > 0:
        _stats["live_after_run_bytes"] = gc.mem_alloc() - _base
    if _sample == N_SAMPLES:
        _more = False
    else:
        for f, x in zip(_fins, _xs):
            f.readinto(x)
        a0 = gc.mem_alloc()
        t0 = time.ticks_us()
        y = m.run(*_xs)
        _stats["run_us"].append(time.ticks_diff(time.ticks_us(), t0))
        _stats["alloc_per_run_bytes"] = max(_stats["alloc_per_run_bytes"], gc.mem_alloc() - a0)
        for out in (y if isinstance(y, list) else [y]):
            _fout.write(out)
        y = None
        _sample += 1
_stage += 1
#---STEP---
_fout.close()
_stats["arena_bytes"] = m.arena_bytes
_stats["scratch_bytes"] = m.scratch_bytes
print("TINYCNN_MP_STATS " + json.dumps(_stats))
"""


def micropython_mjs() -> Path:
    path = Path(os.environ.get("TINYCNN_MICROPYTHON_MJS", DEFAULT_MJS))
    if not path.exists():
        raise TinyCNNError(f"MicroPython (webassembly) not found at {path}: run `make .mpy-node/.installed-stamp` "
                           f"(npm install {NPM_PACKAGE}) or set TINYCNN_MICROPYTHON_MJS")
    if shutil.which("node") is None:
        raise TinyCNNError("node (>= 20) is needed to run MicroPython's webassembly port")
    return path


def run_blob(blob, inputs: list, heap_bytes: int = 8 << 20, timeout_s: float = 600.0, use_mpy: bool = False):
    """inputs: one integer NHWC array per graph input, batch first. Returns (outputs, stats):
    outputs one array per graph output (batch first, the model's dtypes), stats the figures
    measured inside MicroPython. use_mpy: import the mpy-cross precompiled module instead."""
    import tinycnn
    from tinycnn.mpy import export
    model = tinycnn.load(blob)
    g = model.graph
    specs = []
    n = len(inputs[0])
    for name, x in zip(g.inputs, inputs):
        t = g.tensors[name]
        if t.dtype not in TYPECODES:
            raise TinyCNNError(f"input '{name}' is {t.dtype}; tinycnn_mp takes int8, uint8 or int16 inputs")
        x = np.asarray(x)
        if x.dtype != np.dtype(t.dtype) or len(x) != n:
            raise TinyCNNError(f"input '{name}' must be {t.dtype} with {n} samples; got {x.dtype} {x.shape}")
        specs.append((TYPECODES[t.dtype], int(np.prod(x.shape[1:]))))
    with tempfile.TemporaryDirectory(prefix="tinycnn_mp_") as tmp:
        work = Path(tmp)
        export(blob, work / "in", mpy=use_mpy, check=False)
        if use_mpy:
            (work / "in" / "tinycnn_mp.py").unlink()
        os.replace(work / "in" / Path(blob).name, work / "in" / "model.tcnn")
        for k, x in enumerate(inputs):
            np.ascontiguousarray(x).astype(np.asarray(x).dtype.newbyteorder("<")).tofile(work / "in" / f"x{k}.bin")
        script = f"SPECS = {specs!r}\nN_SAMPLES = {n}\n" + RUNNER
        (work / "main.py").write_text(script)
        try:
            r = subprocess.run(["node", str(DRIVER), str(micropython_mjs()), str(int(heap_bytes)), str(work)],
                               capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise TinyCNNError(f"MicroPython did not finish within {timeout_s:.0f} s") from None
        if r.returncode != 0:
            raise TinyCNNError(f"{blob}: MicroPython failed: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.stdout[-500:]}")
        stats = None
        for line in r.stdout.splitlines():
            if line.startswith("TINYCNN_MP_STATS "):
                stats = json.loads(line.split(" ", 1)[1])
        raw = (work / "out" / "y.bin").read_bytes()
    outs, pos = [], 0
    shapes = [(g.tensors[o].dtype, [n] + [1 if d < 0 else d for d in g.tensors[o].shape[1:]]) for o in g.outputs]
    per_sample = [int(np.prod(s[1:])) * np.dtype(dt).itemsize for dt, s in shapes]
    step = sum(per_sample)
    if len(raw) != step * n:
        raise TinyCNNError(f"MicroPython wrote {len(raw)} bytes of output; expected {step * n}")
    for (dt, shape), size in zip(shapes, per_sample):
        parts = [np.frombuffer(raw, dtype=np.dtype(dt).newbyteorder("<"), count=size // np.dtype(dt).itemsize,
                               offset=s * step + pos) for s in range(n)]
        outs.append(np.stack(parts).reshape(shape).astype(dt))
        pos += size
    return outs, stats
