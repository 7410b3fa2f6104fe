"""Reference oracle: tflite-runtime 2.14 reference kernels (``OpResolverType.BUILTIN_REF``).

Used for models TFLite Micro cannot run (legacy uint8 models).  tflite-runtime
2.14 needs numpy<2, so it lives in its own virtualenv and is driven through a
subprocess running ``_tflite_ref_worker.py``.

Create the side venv (from the repo root)::

    python3 -m venv .venv-tflite-ref && .venv-tflite-ref/bin/pip install "numpy<2" tflite-runtime==2.14.0

The interpreter python is taken from the ``python`` argument, else the
``TINYCNN_TFLITE_REF_PYTHON`` environment variable, else
``<repo>/.venv-tflite-ref/bin/python`` if it exists.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

ENV_VAR = "TINYCNN_TFLITE_REF_PYTHON"
_WORKER = Path(__file__).with_name("_tflite_ref_worker.py")
_REPO = Path(__file__).resolve().parents[2]
_DEFAULT = _REPO / ".venv-tflite-ref" / "bin" / "python"
INSTALL_HINT = (
    f'set {ENV_VAR}=/path/to/python (a python with tflite-runtime), or create <repo>/.venv-tflite-ref '
    'with: python3 -m venv .venv-tflite-ref && '
    '.venv-tflite-ref/bin/pip install "numpy<2" tflite-runtime==2.14.0'
)


def find_python(python: str | os.PathLike | None = None) -> str | None:
    """Resolve the side-venv python (argument > env var > <repo>/.venv-tflite-ref)."""
    if python:
        return os.fspath(python)
    env = os.environ.get(ENV_VAR)
    if env:
        return env
    if _DEFAULT.exists():
        return str(_DEFAULT)
    return None


def available(python=None) -> bool:
    """True if a python with tflite_runtime (reference kernels) can be found and imported."""
    py = find_python(python)
    if py is None or not os.path.exists(py):
        return False
    try:
        r = subprocess.run([py, "-c", "import tflite_runtime.interpreter as i; i.OpResolverType.BUILTIN_REF"],
                           capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def _call(model_path, arrays, mode, python, timeout):
    py = find_python(python)
    if py is None:
        raise FileNotFoundError(
            f"no tflite-runtime python found: pass python=..., or {INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="tinycnn_tflref_") as d:
        inp = os.path.join(d, "in.npz")
        out = os.path.join(d, "out.npz")
        np.savez(inp, **{f"in_{i}": np.asarray(a) for i, a in enumerate(arrays)})
        r = subprocess.run([py, str(_WORKER), os.fspath(Path(model_path).resolve()), inp, out, mode],
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"tflite-runtime worker failed (exit {r.returncode}):\n{r.stderr[-4000:]}")
        with np.load(out) as z:
            return {k: z[k] for k in z.files}


def run(model_path, inputs: Sequence[np.ndarray] | np.ndarray, python=None,
        timeout: float = 600) -> list[np.ndarray]:
    """Run a .tflite model with tflite-runtime's reference kernels.

    ``inputs``: one array per model input (bare array ok for one input), each
    with a leading batch axis, in the model's input dtype.  Samples are run at
    the model's own batch size (normally 1), like TFLM.  Returns one array per
    output, leading axis N.
    """
    if isinstance(inputs, np.ndarray):
        inputs = [inputs]
    res = _call(model_path, list(inputs), "outputs", python, timeout)
    n = len([k for k in res if k.startswith("out_")])
    return [res[f"out_{i}"] for i in range(n)]


def _expose_all_tensors(model_data: bytes) -> bytes | None:
    """Return a copy of the model whose subgraph-0 outputs list every
    non-constant tensor, or None if no flatbuffer schema is importable.

    Needed because tflite-runtime 2.14 runs ADD/SUB/SOFTMAX/... *in place*
    (output reuses input 0's buffer when that input has a single consumer),
    even with ``experimental_preserve_all_tensors=True``: the input tensor then
    reads back as the op's output.  Graph outputs are never overwritten, and
    listing extra outputs does not change any computed value.
    """
    try:
        import flatbuffers
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb
    except ImportError:
        return None
    m = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(bytearray(model_data), 0))
    sg = m.subgraphs[0]
    outs = [int(i) for i in sg.outputs]
    ins = {int(i) for i in sg.inputs}
    for idx, t in enumerate(sg.tensors):
        buf = m.buffers[t.buffer] if t.buffer is not None and t.buffer < len(m.buffers) else None
        const = buf is not None and buf.data is not None and len(buf.data) > 0
        if not const and idx not in ins and idx not in outs:
            outs.append(idx)
    sg.outputs = outs
    b = flatbuffers.Builder(len(model_data) + 4096)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def run_with_intermediates(model_path, x, python=None, timeout: float = 600,
                           expose_outputs: bool = True) -> dict[int, np.ndarray]:
    """Run one sample (batch 1 or no batch axis) with ``experimental_preserve_all_tensors=True``
    and return ``{tensor_index: value}`` for every readable tensor (constants included).

    With ``expose_outputs`` (default) the model is first rewritten so that every
    intermediate tensor is a graph output (see ``_expose_all_tensors``): without
    it tflite-runtime's in-place ops clobber some intermediates.  Tensor indices
    are unchanged.  The rewrite needs ``flatbuffers`` and ``tflite-micro``'s
    schema module; if they are missing the model is run as is.
    """
    xs = [x] if isinstance(x, np.ndarray) or not isinstance(x, (list, tuple)) else list(x)
    patched = None
    if expose_outputs:
        with open(os.fspath(model_path), "rb") as f:
            patched = _expose_all_tensors(f.read())
    if patched is None:
        res = _call(model_path, xs, "intermediates", python, timeout)
    else:
        with tempfile.TemporaryDirectory(prefix="tinycnn_tflref_m_") as d:
            mp = os.path.join(d, "model.tflite")
            with open(mp, "wb") as f:
                f.write(patched)
            res = _call(mp, xs, "intermediates", python, timeout)
    return {int(k[2:]): v for k, v in res.items() if k.startswith("t_")}
