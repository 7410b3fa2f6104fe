"""Fixed-point helpers: NumPy twins vs @njit twins, and both vs the exact rational definition."""
from fractions import Fraction

import numpy as np
import pytest

from tinycnn import fixedpoint as fp


def exact_mbqm(x, q, shift):
    """The gemmlowp definition evaluated with exact rationals (independent of our code):
    left shift, doubling high multiply rounded half away from zero (ties toward +inf for
    negative values as the nudge does), then rounding right shift with ties away from zero."""
    left, right = max(shift, 0), max(-shift, 0)
    a = x * (1 << left)
    prod = Fraction(a * q, 1 << 31)
    high = int(prod + Fraction(1, 2)) if prod >= 0 else -int(-prod + Fraction(1, 2) - Fraction(1, 1 << 31))
    # rounding divide by 2**right: ties away from zero
    d = Fraction(high, 1 << right)
    return int(d + Fraction(1, 2)) if d >= 0 else -int(-d + Fraction(1, 2))


@pytest.mark.parametrize("real", [0.5, 0.25, 1.0, 0.75, 1e-5, 3.2, 2.0 ** -31, 0.999999999])
def test_quantize_multiplier_reconstructs(real):
    q, shift = fp.quantize_multiplier(real)
    assert (1 << 30) <= q < (1 << 31)
    assert abs(q * 2.0 ** (shift - 31) - real) <= real * 2 ** -30


def test_quantize_multiplier_known_values():
    assert fp.quantize_multiplier(0.5) == (1 << 30, 0)
    assert fp.quantize_multiplier(1.0) == (1 << 30, 1)
    assert fp.quantize_multiplier(0.0) == (0, 0)
    assert fp.quantize_multiplier(2.0 ** -40) == (0, 0)  # below 2^-31: flushed to zero as in TFLite


def test_mbqm_numpy_and_njit_match_exact_definition():
    rng = np.random.default_rng(0)
    xs = np.concatenate([rng.integers(-2**20, 2**20, 300), [0, 1, -1, 2**30, -2**30, 12345, -12345]])
    for real in [0.5, 0.0007, 0.3, 0.999, 1.7, 2.0 ** -20, 0.0123456]:
        q, s = fp.quantize_multiplier(real)
        np_out = fp.np_multiply_by_quantized_multiplier(xs, q, s)
        for x, y in zip(xs, np_out):
            expected = exact_mbqm(int(x), q, s)
            assert int(y) == expected, (x, real)
            assert int(fp.multiply_by_quantized_multiplier(int(x), q, s)) == expected


def test_srdhm_saturates():
    assert fp.np_saturating_rounding_doubling_high_mul(fp.INT32_MIN, fp.INT32_MIN) == fp.INT32_MAX
    assert fp.saturating_rounding_doubling_high_mul(fp.INT32_MIN, fp.INT32_MIN) == fp.INT32_MAX


def test_rounding_divide_by_pot_ties_away_from_zero():
    assert list(fp.np_rounding_divide_by_pot(np.array([5, -5, 6, -6, 7, -7]), 1)) == [3, -3, 3, -3, 4, -4]
    assert [fp.rounding_divide_by_pot(v, 2) for v in (6, -6, 5, -5)] == [2, -2, 1, -1]
