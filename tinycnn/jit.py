"""Numba compile flags in one place. Every kernel uses ``@njit``; caching makes a second run warm.

Set NUMBA_DISABLE_JIT=1 to run the kernels as plain Python (coverage, debugging)."""
from __future__ import annotations

import numba

JIT_OPTIONS = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")


def njit(fn=None, **overrides):
    options = {**JIT_OPTIONS, **overrides}
    if fn is None:
        return lambda f: numba.njit(**options)(f)
    return numba.njit(**options)(fn)
