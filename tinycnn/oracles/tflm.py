"""Reference oracle: TensorFlow Lite for Microcontrollers (PyPI ``tflite-micro``).

TFLM is the reference that tinycnn's int8 kernels must match bit for bit.

API used (``tflite_micro.python.tflite_micro.runtime``)::

    Interpreter.from_file(path, custom_op_registerers=None, arena_size=None,
                          intrepreter_config=InterpreterConfig.kAllocationRecording)
    .set_input(array, input_index)        # exact dtype and shape required
    .invoke()
    .get_output(output_index)             # -> np.ndarray (copy)
    .get_input_details(i) / .get_output_details(i)
    .GetTensor(tensor_index, subgraph_index) -> {'dtype', 'shape', 'tensor_data'}

Quirks (tflite-micro 0.dev2026xxxx):

* batch size is fixed by the model (normally 1): ``set_input`` raises
  ``ValueError: Dimension mismatch`` for other shapes; there is no resize.  We
  run a batch one sample at a time.
* ``set_input`` does not cast: dtype must match exactly (float64 is refused).
* ``GetTensor`` only works with ``InterpreterConfig.kPreserveAllTensors``
  (note the misspelt keyword ``intrepreter_config``) and **segfaults** on an
  out-of-range tensor index, so we bound indices with the flatbuffer's tensor
  count.
* the default arena size is 10x the model file size, which can be too small for
  tiny models with large activations; we size it from the tensor list.
"""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np

_IMPORT_HINT = (
    "tinycnn.oracles.tflm needs the TensorFlow Lite Micro Python package: "
    "pip install tflite-micro"
)

_TFLITE_TYPE_BYTES = {
    0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 5: 8, 6: 1, 7: 2, 8: 8, 9: 1, 10: 8,
    11: 16, 12: 8, 13: 4, 14: 4, 15: 4, 16: 4, 17: 1, 18: 1,
}


def _runtime():
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError as exc:  # pragma: no cover - depends on environment
        raise ImportError(_IMPORT_HINT) from exc
    return runtime


def available() -> bool:
    """True if the tflite-micro package can be imported."""
    try:
        _runtime()
    except ImportError:
        return False
    return True


def _model_info(model_data: bytes) -> dict:
    """Tensor count, io indices and a generous arena estimate from the flatbuffer."""
    runtime = _runtime()
    model = runtime.convert_bytearray_to_object(bytearray(model_data))
    sg = model.subgraphs[0]
    total = 0
    for t in sg.tensors or []:
        shape = [] if t.shape is None else list(t.shape)
        n = int(np.prod(shape)) if len(shape) else 1
        total += max(n, 1) * _TFLITE_TYPE_BYTES.get(int(t.type), 8)
    return {
        "num_tensors": len(sg.tensors or []),
        "inputs": [int(i) for i in (sg.inputs if sg.inputs is not None else [])],
        "outputs": [int(i) for i in (sg.outputs if sg.outputs is not None else [])],
        "tensor_bytes": total,
    }


def _read(model_path) -> bytes:
    with open(os.fspath(model_path), "rb") as f:
        return f.read()


def _make(model_data: bytes, info: dict, preserve: bool, arena_size: int | None):
    runtime = _runtime()
    if arena_size is None:
        # every tensor resident at once (needed for kPreserveAllTensors) plus
        # scratch buffers/bookkeeping headroom
        arena_size = 10 * len(model_data) + 4 * info["tensor_bytes"] + (1 << 20)
    cfg = (runtime.InterpreterConfig.kPreserveAllTensors if preserve
           else runtime.InterpreterConfig.kAllocationRecording)
    return runtime.Interpreter.from_bytes(
        model_data, arena_size=int(arena_size), intrepreter_config=cfg)


def _coerce(x, detail: dict, batched: bool) -> np.ndarray:
    x = np.asarray(x)
    want = np.dtype(detail["dtype"])
    if x.dtype != want:
        same_kind = (x.dtype.kind in "iu" and want.kind in "iu") or (
            x.dtype.kind == "f" and want.kind == "f")
        if not same_kind:
            raise TypeError(f"input dtype {x.dtype} does not match model input dtype {want}")
        if want.kind in "iu":
            info = np.iinfo(want)
            if x.size and (x.min() < info.min or x.max() > info.max):
                raise ValueError(f"input values out of range for {want}")
        x = x.astype(want)
    shape = tuple(int(s) for s in detail["shape"])
    if batched:
        return x
    if x.shape == shape[1:]:
        x = x[None]
    return x


def input_details(model_path) -> list[dict]:
    data = _read(model_path)
    info = _model_info(data)
    it = _make(data, info, False, None)
    return [it.get_input_details(i) for i in range(len(info["inputs"]))]


def output_details(model_path) -> list[dict]:
    data = _read(model_path)
    info = _model_info(data)
    it = _make(data, info, False, None)
    return [it.get_output_details(i) for i in range(len(info["outputs"]))]


def run(model_path, inputs: Sequence[np.ndarray] | np.ndarray,
        arena_size: int | None = None) -> list[np.ndarray]:
    """Run a .tflite model through TFLM.

    ``inputs``: one array per model input (a bare array is accepted for a
    single-input model), each with a leading batch axis of N samples in the
    model's input dtype (int8 for int8 models).  TFLM runs batch 1, so the
    samples are run one at a time (``interpreter.reset()`` between samples).
    Returns one array per model output with leading axis N.
    """
    if isinstance(inputs, np.ndarray):
        inputs = [inputs]
    inputs = [np.asarray(a) for a in inputs]
    data = _read(model_path)
    info = _model_info(data)
    n_in = len(info["inputs"])
    if len(inputs) != n_in:
        raise ValueError(f"model has {n_in} inputs, got {len(inputs)} arrays")
    it = _make(data, info, False, arena_size)
    in_det = [it.get_input_details(i) for i in range(n_in)]
    n_out = len(info["outputs"])
    model_batch = [int(d["shape"][0]) if len(d["shape"]) else 1 for d in in_det]
    arrs = [_coerce(a, d, True) for a, d in zip(inputs, in_det)]
    N = arrs[0].shape[0]
    if any(a.shape[0] != N for a in arrs):
        raise ValueError("all inputs must have the same batch size")
    step = model_batch[0] if model_batch[0] > 0 else 1
    if N % step:
        raise ValueError(f"batch {N} not a multiple of model batch {step}")
    outs: list[list[np.ndarray]] = [[] for _ in range(n_out)]
    for s in range(0, N, step):
        for i, a in enumerate(arrs):
            it.set_input(np.ascontiguousarray(a[s:s + step]), i)
        it.invoke()
        for o in range(n_out):
            outs[o].append(np.array(it.get_output(o), copy=True))
        it.reset()
    return [np.concatenate(o, axis=0) for o in outs]


def run_with_intermediates(model_path, x, arena_size: int | None = None,
                           include_constants: bool = True) -> dict[int, np.ndarray]:
    """Run one sample and return ``{tensor_index: value}`` for every tensor of
    subgraph 0 after invoke (kPreserveAllTensors).

    ``x``: array for a single-input model, or a list of arrays (one per input);
    each with batch 1 (or without the batch axis).
    ``include_constants=False`` drops tensors that have a constant buffer
    (weights, biases, shape operands).
    """
    xs = [x] if isinstance(x, np.ndarray) or not isinstance(x, (list, tuple)) else list(x)
    data = _read(model_path)
    info = _model_info(data)
    if len(xs) != len(info["inputs"]):
        raise ValueError(f"model has {len(info['inputs'])} inputs, got {len(xs)} arrays")
    it = _make(data, info, True, arena_size)
    for i, a in enumerate(xs):
        it.set_input(np.ascontiguousarray(_coerce(a, it.get_input_details(i), False)), i)
    it.invoke()
    const = set()
    if not include_constants:
        runtime = _runtime()
        model = runtime.convert_bytearray_to_object(bytearray(data))
        for idx, t in enumerate(model.subgraphs[0].tensors or []):
            b = model.buffers[t.buffer] if t.buffer is not None else None
            if b is not None and b.data is not None and len(b.data) > 0:
                const.add(idx)
    result: dict[int, np.ndarray] = {}
    for idx in range(info["num_tensors"]):  # never go out of range: TFLM segfaults
        if idx in const:
            continue
        try:
            t = it.GetTensor(idx, 0)
        except (RuntimeError, ValueError):
            continue
        if t is None:
            continue
        result[idx] = np.array(t["tensor_data"], copy=True)
    return result
