"""Reading user arrays: .npy, or .npz with inputs under 'x' (or 'x_test'/'x_calib'/'input',
or the only array) and labels under 'y' (or 'y_test'/'labels')."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tinycnn.errors import TinyCNNError

X_KEYS = ("x", "input", "inputs", "x_test", "x_calib", "images", "data")
# a file holding both splits (as the test fixtures do): calibrate on x_calib, evaluate on x_test
PREFERRED_KEYS = {"calibration": ("x_calib",), "evaluation": ("x_test",), "input": ("x_test",)}
Y_KEYS = ("y", "labels", "label", "y_test", "targets")


def load_inputs(source, role="input", native=False) -> np.ndarray:
    """An array, a path to .npy, or a path to .npz -> float32 array (native=True: integer arrays
    keep their dtype, for models that take raw int8/uint8 inputs; see tinycnn/edges.py)."""
    if source is None:
        raise TinyCNNError(f"no {role} data given")
    if isinstance(source, np.ndarray):
        return _as_float(source, "array", role, native)
    path = Path(source)
    if not path.exists():
        raise TinyCNNError(f"{path}: no such {role} file")
    try:
        if path.suffix == ".npy":
            return _as_float(np.load(path), path, role, native)
        if path.suffix == ".npz":
            with np.load(path) as z:
                for k in PREFERRED_KEYS.get(role, ()) + X_KEYS:
                    if k in z:
                        return _as_float(z[k], f"{path}['{k}']", role, native)
                if len(z.files) == 1:
                    return _as_float(z[z.files[0]], path, role, native)
                raise TinyCNNError(f"{path}: no input array found; name it one of {X_KEYS} "
                                   f"(found {z.files})")
    except (ValueError, OSError, EOFError) as exc:
        raise TinyCNNError(f"{path}: cannot read {role} data ({exc})") from exc
    raise TinyCNNError(f"{path}: {role} data must be .npy or .npz")


def _as_float(a: np.ndarray, where, role, native=False) -> np.ndarray:
    if a.dtype.kind not in "fiub":
        raise TinyCNNError(f"{where}: {role} data has dtype {a.dtype}; expected real numbers (float32)")
    return a if native and a.dtype.kind in "iu" else a.astype(np.float32, copy=False)


def load_labeled(source, native=False):
    """(x, y or None) from an .npz (or .npy without labels). Labels are paired with the inputs
    chosen: x_test with y_test, x with y."""
    x = load_inputs(source, "evaluation", native)
    y = None
    if not isinstance(source, np.ndarray) and Path(source).suffix == ".npz":
        with np.load(source) as z:
            x_key = next(k for k in PREFERRED_KEYS["evaluation"] + X_KEYS + tuple(z.files) if k in z)
            pairs = {"x_test": ("y_test",), "x": ("y", "labels", "label", "targets")}
            for k in pairs.get(x_key, ()) + Y_KEYS:
                if k in z:
                    y = z[k].reshape(-1).astype(np.int64)
                    break
        if y is not None and len(y) != len(x):
            raise TinyCNNError(f"{source}: {len(y)} labels for {len(x)} inputs")
    return x, y
