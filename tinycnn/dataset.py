"""Reading user arrays, the one loader of run/eval/compare/convert --calib/simulate/tradeoff:
.npy, or .npz with inputs under 'x' (or 'x_test'/'x_calib'/'input', or the only array) and
labels under 'y' (or 'y_test'/'labels').

Hostile files get one clear line: not a regular file (FIFO, device), a broken zip or deflate
stream, a malformed .npy header, an array larger than its file (or than MAX_ARRAY_BYTES), a zip
member whose declared size or compression ratio is a zip bomb, pickled/object arrays (never
unpickled), scalars, empty archives, non-numeric dtypes (complex, datetime, bool, str) and
non-finite or fractional labels.
"""
from __future__ import annotations

import os
import zipfile
import zlib

import numpy as np

from tinycnn.errors import TinyCNNError
from tinycnn.fileio import check_input_file

X_KEYS = ("x", "input", "inputs", "x_test", "x_calib", "images", "data")
# a file holding both splits (as the test fixtures do): calibrate on x_calib, evaluate on x_test
PREFERRED_KEYS = {"calibration": ("x_calib",), "evaluation": ("x_test",), "input": ("x_test",)}
Y_KEYS = ("y", "labels", "label", "y_test", "targets")
# bounds before anything is inflated or allocated (override with TINYCNN_MAX_DATA_BYTES)
MAX_ARRAY_BYTES = int(os.environ.get("TINYCNN_MAX_DATA_BYTES", 4 << 30))
MAX_RATIO = 1000  # a deflated member inflating more than this (and > 1 MiB) is refused
_NUMERIC_KINDS = "fiu"


class ArrayFile:
    """The arrays of one .npy (key '') or .npz, read lazily and checked; use as a context."""

    def __init__(self, path, role="input"):
        self.path, self.role = check_input_file(path, f"{role} data"), role
        self._zip = None
        suffix = self.path.suffix.lower()
        if suffix == ".npy":
            self.files = [""]
        elif suffix == ".npz":
            try:
                self._zip = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
                raise self._err(f"not a readable .npz (zip) file ({exc})") from exc
            self.files = [n[:-4] if n.endswith(".npy") else n for n in self._zip.namelist()]
            if not self.files:
                raise self._err("the .npz archive holds no arrays")
        else:
            raise self._err(f"{role} data must be .npy or .npz")

    def _err(self, msg, key=None) -> TinyCNNError:
        where = f"{self.path}['{key}']" if key else str(self.path)
        return TinyCNNError(f"{where}: {msg}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self._zip is not None:
            self._zip.close()

    def __contains__(self, key):
        return key in self.files

    def __getitem__(self, key) -> np.ndarray:
        try:
            if self._zip is None:
                with open(self.path, "rb") as f:
                    return self._read(f, os.fstat(f.fileno()).st_size, key)
            name = key if key in self._zip.namelist() else key + ".npy"
            info = self._zip.getinfo(name)
            if info.file_size > MAX_ARRAY_BYTES:
                raise self._err(f"member declares {info.file_size} bytes uncompressed (limit "
                                f"{MAX_ARRAY_BYTES}); refusing a possible zip bomb", key)
            if info.file_size > (1 << 20) and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise self._err(f"member inflates {info.compress_size} -> {info.file_size} bytes "
                                f"(ratio > {MAX_RATIO}); refusing a zip bomb", key)
            with self._zip.open(info) as f:
                return self._read(f, info.file_size, key)
        except TinyCNNError:
            raise
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError) as exc:
            raise self._err(f"corrupt .npz member ({type(exc).__name__}: {exc})", key) from exc
        except (ValueError, OSError, EOFError, OverflowError, TypeError, MemoryError) as exc:
            raise self._err(f"cannot read array ({type(exc).__name__}: {exc})", key) from exc

    def _read(self, f, size, key) -> np.ndarray:
        fmt = np.lib.format
        version = fmt.read_magic(f)
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise self._err(f"unsupported .npy format version {version}", key)
        reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran, dtype = reader(f)
        if dtype.hasobject:
            raise self._err("holds Python objects (a pickled array); save plain numbers "
                            "(pickles are never loaded)", key)
        count = 1
        for n in shape:
            count *= int(n)
        nbytes = count * dtype.itemsize
        if nbytes > MAX_ARRAY_BYTES:
            raise self._err(f"array of shape {shape} needs {nbytes} bytes (limit {MAX_ARRAY_BYTES})", key)
        if nbytes > size:
            raise self._err(f"truncated: shape {shape} {dtype} needs {nbytes} bytes, the file has "
                            f"{size}", key)
        data = f.read(nbytes)
        if len(data) != nbytes:
            raise self._err(f"truncated: {len(data)} of {nbytes} data bytes", key)
        a = np.frombuffer(data, dtype=dtype, count=count)
        return a.reshape(shape[::-1]).T if fortran else a.reshape(shape)


def _numeric(a: np.ndarray, where, role) -> np.ndarray:
    if a.ndim == 0:
        raise TinyCNNError(f"{where}: {role} data is a scalar; expected a batch of arrays")
    if a.dtype.kind not in _NUMERIC_KINDS:
        raise TinyCNNError(f"{where}: {role} data has dtype {a.dtype}; expected real numbers "
                           "(float32, or integers)")
    if a.size == 0:
        raise TinyCNNError(f"{where}: {role} data is empty (shape {a.shape})")
    return a


def _as_float(a: np.ndarray, where, role) -> np.ndarray:
    a = _numeric(a, where, role).astype(np.float32, copy=False)
    if not np.isfinite(a).all():
        raise TinyCNNError(f"{where}: {role} data holds NaN or infinite values (or values beyond "
                           "float32)")
    return a


def _input_key(z: ArrayFile, role) -> str:
    for k in PREFERRED_KEYS.get(role, ()) + X_KEYS:
        if k in z:
            return k
    if len(z.files) == 1:
        return z.files[0]
    raise TinyCNNError(f"{z.path}: no input array found; name it one of {', '.join(X_KEYS)} "
                       f"(found {', '.join(z.files)})")


def _where(z: ArrayFile, key) -> str:
    return f"{z.path}['{key}']" if key else str(z.path)


def load_array(source, role="input") -> np.ndarray:
    """The input array of a .npy/.npz with its own dtype (checked as load_inputs does, but not
    converted: `compare` passes raw int8/uint8 values)."""
    if isinstance(source, np.ndarray):
        return _numeric(source, "array", role)
    if source is None:
        raise TinyCNNError(f"no {role} data given")
    with ArrayFile(source, role) as z:
        key = _input_key(z, role)
        return _numeric(z[key], _where(z, key), role)


def load_inputs(source, role="input", native=False) -> np.ndarray:
    """An array, a path to .npy, or a path to .npz -> float32 array (native=True: integer arrays
    keep their dtype, for models that take raw int8/uint8 inputs; see tinycnn/edges.py)."""
    if source is None:
        raise TinyCNNError(f"no {role} data given")
    if isinstance(source, np.ndarray):
        return _edge(source, "array", role, native)
    with ArrayFile(source, role) as z:
        key = _input_key(z, role)
        return _edge(z[key], _where(z, key), role, native)


def _edge(a: np.ndarray, where, role, native) -> np.ndarray:
    """native=True: integer arrays keep their dtype (raw int8/uint8 model inputs)."""
    if native and a.dtype.kind in "iu":
        return _numeric(a, where, role)
    return _as_float(a, where, role)


def _labels(a: np.ndarray, where) -> np.ndarray:
    a = _numeric(a, where, "label")
    if a.dtype.kind == "f":
        if not np.isfinite(a).all():
            raise TinyCNNError(f"{where}: labels hold NaN or infinite values")
        if (a != np.round(a)).any():
            raise TinyCNNError(f"{where}: labels must be whole class indices (found fractions)")
    y = a.reshape(-1).astype(np.int64)
    if (y < 0).any():
        raise TinyCNNError(f"{where}: labels must be class indices >= 0 (found {int(y.min())})")
    return y


def load_labeled(source, native=False):
    """(x, y or None) from an .npz (or .npy without labels). Labels are paired with the inputs
    chosen: x_test with y_test, x with y."""
    if isinstance(source, np.ndarray):
        return _edge(source, "array", "evaluation", native), None
    if source is None:
        raise TinyCNNError("no evaluation data given")
    with ArrayFile(source, "evaluation") as z:
        x_key = _input_key(z, "evaluation")
        x = _edge(z[x_key], _where(z, x_key), "evaluation", native)
        y = None
        pairs = {"x_test": ("y_test",), "x": ("y", "labels", "label", "targets")}
        for k in pairs.get(x_key, ()) + Y_KEYS:
            if k in z and k != x_key:
                y = _labels(z[k], _where(z, k))
                break
    if y is not None and len(y) != len(x):
        raise TinyCNNError(f"{source}: {len(y)} labels for {len(x)} inputs")
    return x, y

