"""Fixed-point arithmetic of the TFLite int8 spec, as TFLite Micro's reference kernels do it
(tensorflow/lite/kernels/internal/common.h, gemmlowp fixedpoint.h; double rounding, i.e.
TFLITE_SINGLE_ROUNDING not defined — also CMSIS-NN's default).

Every function has a NumPy twin (vectorised, int64 internally; the oracle) and an @njit
scalar twin used inside the kernels. The two are tested against each other.
"""
from __future__ import annotations

import math

import numpy as np

from tinycnn.jit import njit

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def quantize_multiplier(real_multiplier: float) -> tuple[int, int]:
    """TFLite QuantizeMultiplier: real = q * 2**(shift - 31), q in [2**30, 2**31)."""
    if real_multiplier == 0.0:
        return 0, 0
    mantissa, shift = math.frexp(float(real_multiplier))
    q_fixed = int(math.floor(abs(mantissa) * (1 << 31) + 0.5))  # TfLiteRound: half away from 0
    if mantissa < 0:
        q_fixed = -q_fixed
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    return int(q_fixed), int(shift)


def quantize_multipliers(real_multipliers) -> tuple[np.ndarray, np.ndarray]:
    pairs = [quantize_multiplier(float(m)) for m in np.atleast_1d(real_multipliers)]
    return (np.array([p[0] for p in pairs], np.int32), np.array([p[1] for p in pairs], np.int32))


def quantize_multiplier_smaller_than_one_exp(real_multiplier: float) -> tuple[int, int]:
    """TFLite QuantizeMultiplierSmallerThanOneExp (used by ADD/SUB): shift <= 0."""
    q, shift = quantize_multiplier(real_multiplier)
    if shift > 0:
        raise ValueError(f"multiplier {real_multiplier} is not smaller than one")
    return q, shift


# ---------------- NumPy twins (oracle) ----------------

def np_saturating_rounding_doubling_high_mul(a, b):
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    total = ab + nudge
    # C++ integer division truncates toward zero
    high = np.where(total >= 0, total >> 31, -((-total) >> 31))
    return np.where(overflow, INT32_MAX, high).astype(np.int64)


def np_rounding_divide_by_pot(x, exponent):
    x = np.asarray(x, np.int64)
    exponent = np.asarray(exponent, np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def np_multiply_by_quantized_multiplier(x, multiplier, shift):
    x = np.asarray(x, np.int64)
    shift = np.asarray(shift, np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    # x * (1 << left) wraps in int32 in C; inputs here never overflow for valid models
    return np_rounding_divide_by_pot(
        np_saturating_rounding_doubling_high_mul(x * (np.int64(1) << left), multiplier), right)


# ---------------- @njit twins (kernels) ----------------

@njit
def saturating_rounding_doubling_high_mul(a, b):
    if a == INT32_MIN and b == INT32_MIN:
        return INT32_MAX
    ab = np.int64(a) * np.int64(b)
    nudge = np.int64(1 << 30) if ab >= 0 else np.int64(1 - (1 << 30))
    total = ab + nudge
    if total >= 0:
        return total >> 31
    return -((-total) >> 31)


@njit
def rounding_divide_by_pot(x, exponent):
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


@njit
def multiply_by_quantized_multiplier(x, multiplier, shift):
    left = shift if shift > 0 else 0
    right = -shift if shift < 0 else 0
    return rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(np.int64(x) * (np.int64(1) << left), multiplier), right)
