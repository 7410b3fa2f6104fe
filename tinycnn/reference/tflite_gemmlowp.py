"""NumPy transcription of the gemmlowp fixed-point functions (gemmlowp/fixedpoint/fixedpoint.h)
and of TFLite Micro's int8 algorithms for unary ops, SOFTMAX and MEAN.

Values are int64 arrays holding int32 quantities (the C++ ``int32_t`` raw values). A
``FixedPoint<int32_t, I>`` is represented by its raw value; ``I`` is tracked by the caller.
Everything here is vectorised over all 256 int8 inputs at once, so unary ops become
``Op.LUT`` tables that are bit-exact by construction (see ``converters/tflite_quant.py``).

Sources transcribed: tensorflow/lite/kernels/internal/reference/integer_ops/logistic.h,
tanh.h, reference/hard_swish.h, leaky_relu.h, requantize.h, softmax.h (int8 path),
reduce.h (QuantizedMeanOrSum), quantization_util.cc (PreprocessSoftmaxScaling,
CalculateInputRadius), micro/kernels/activations_common.cc (ReLU/ReLU6 prepare),
hard_swish_common.cc, leaky_relu_common.cc, logistic_common.cc, tanh_common.cc.
"""
from __future__ import annotations

import math

import numpy as np

from tinycnn.fixedpoint import (np_multiply_by_quantized_multiplier as mbqm,
                                np_rounding_divide_by_pot as rdbp,
                                np_saturating_rounding_doubling_high_mul as srdhm, quantize_multiplier)

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
INT8_INPUTS = np.arange(-128, 128, dtype=np.int64)


def wrap32(x):
    """C int32 wrap-around of an int64 value."""
    x = np.asarray(x, np.int64)
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def sat_mul_pot(x, exponent: int):
    """gemmlowp SaturatingRoundingMultiplyByPOT<exponent> on int32 raws."""
    x = np.asarray(x, np.int64)
    if exponent == 0:
        return x
    if exponent < 0:
        return rdbp(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    out = wrap32(x << exponent)
    out = np.where(x > threshold, INT32_MAX, out)
    return np.where(x < -threshold, INT32_MIN, out)


def rescale(x, src_int_bits: int, dst_int_bits: int):
    return sat_mul_pot(x, src_int_bits - dst_int_bits)


def one(int_bits: int) -> int:
    return INT32_MAX if int_bits == 0 else 1 << (31 - int_bits)


def rounding_half_sum(a, b):
    s = np.asarray(a, np.int64) + np.asarray(b, np.int64)
    t = s + np.where(s >= 0, 1, -1)
    return np.where(t >= 0, t // 2, -((-t) // 2))  # C division truncates


def _newton_reciprocal_f2(a):
    """Shared Newton-Raphson core of one_over_one_plus_x / one_minus_x_over_one_plus_x (F2 raw)."""
    half_denominator = rounding_half_sum(a, one(0))
    x = wrap32(1515870810 + srdhm(half_denominator, -1010580540))
    for _ in range(3):
        half_denominator_times_x = srdhm(half_denominator, x)
        one_minus = wrap32(one(2) - half_denominator_times_x)
        x = wrap32(x + rescale(srdhm(x, one_minus), 4, 2))
    return x


def one_over_one_plus_x_for_x_in_0_1(a):
    return rescale(_newton_reciprocal_f2(a), 1, 0)  # ExactMulByPot<-1> then Rescale<0>


def one_minus_x_over_one_plus_x_for_x_in_0_1(a):
    return rescale(wrap32(_newton_reciprocal_f2(a) - one(2)), 2, 0)


def exp_on_interval_between_negative_one_quarter_and_0_excl(a):
    x = wrap32(a + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = sat_mul_pot(x4, -2)
    poly = sat_mul_pot(wrap32(srdhm(wrap32(x4_over_4 + x3), 715827883) + x2), -1)
    return wrap32(1895147668 + srdhm(1895147668, wrap32(x + poly)))


_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
               (2, 39332535), (3, 720401), (4, 242))


def exp_on_negative_values(a, int_bits: int):
    """exp(a) for a <= 0 given as FixedPoint<int32, int_bits>; result FixedPoint<int32, 0>."""
    a = np.asarray(a, np.int64)
    frac_bits = 31 - int_bits
    one_quarter = 1 << (frac_bits - 2)
    mask = one_quarter - 1
    a_mod_quarter_minus_one_quarter = wrap32((a & mask) - one_quarter)
    result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        rescale(a_mod_quarter_minus_one_quarter, int_bits, 0))
    remainder = wrap32(a_mod_quarter_minus_one_quarter - a)
    for exponent, multiplier in _EXP_BARREL:
        if int_bits > exponent:
            bit = 1 << (frac_bits + exponent)
            result = np.where((remainder & bit) != 0, srdhm(result, multiplier), result)
    if int_bits > 5:
        clamp = -(1 << (36 - int_bits))
        result = np.where(a < clamp, 0, result)
    return np.where(a == 0, one(0), result)


def logistic_fixed(a, int_bits: int):
    a = np.asarray(a, np.int64)
    positive = a > 0
    abs_input = np.where(positive, a, wrap32(-a))
    result_pos = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(wrap32(-abs_input), int_bits))
    result_neg = wrap32(one(0) - result_pos)
    return np.where(a == 0, 1 << 30, np.where(positive, result_pos, result_neg))


def tanh_fixed(a, int_bits: int):
    a = np.asarray(a, np.int64)
    negative = a < 0
    n = np.where(negative, a, wrap32(-a))
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, int_bits + 1))
    return np.where(a == 0, 0, np.where(negative, wrap32(-t), t))


# ---------------------------------------------------------------- prepare helpers

def tflite_round(x: float) -> int:
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def calculate_input_radius(input_integer_bits: int, input_left_shift: int, total_signed_bits=31) -> int:
    max_input_rescaled = (1.0 * ((1 << input_integer_bits) - 1)
                          * (1 << (total_signed_bits - input_integer_bits)) / (1 << input_left_shift))
    return int(math.floor(max_input_rescaled))


def _frexp_multiplier(real: float):
    """The logistic/tanh prepare: q = frexp(real), multiplier = round(q * 2^31)."""
    q, shift = math.frexp(real)
    return tflite_round(q * (1 << 31)), shift


def _clip8(v, lo=-128, hi=127):
    return np.clip(v, lo, hi).astype(np.int8)


# ---------------------------------------------------------------- unary int8 tables

def logistic_lut(in_scale: float, in_zp: int) -> np.ndarray:
    real = float(np.float32(in_scale)) * float(1 << (31 - 4))
    mult, shift = _frexp_multiplier(real)
    radius = calculate_input_radius(4, shift, 31)
    x = INT8_INPUTS - in_zp
    q4 = mbqm(x, mult, shift)
    out = rdbp(logistic_fixed(q4, 4), 31 - 8) - 128
    out = np.where(x <= -radius, -128, np.where(x >= radius, 127, out))
    return _clip8(out)


def tanh_lut(in_scale: float, in_zp: int) -> np.ndarray:
    real = float(np.float32(in_scale)) * float(1 << (31 - 4))
    mult, shift = _frexp_multiplier(real)
    radius = calculate_input_radius(4, shift, 31)
    x = INT8_INPUTS - in_zp
    q4 = mbqm(x, mult, shift)
    out = rdbp(tanh_fixed(q4, 4), 31 - 7)
    out = np.where(x <= -radius, -128, np.where(x >= radius, 127, out))
    return _clip8(out)


def relu_lut(in_scale, in_zp, out_scale, out_zp, upper: float | None = None) -> np.ndarray:
    """TFLM ReluQuantized (requantizes to the output scale, clamps at 0 on the output grid)."""
    mult, shift = quantize_multiplier(float(np.float32(in_scale)) / float(np.float32(out_scale)))
    act_min = max(-128, out_zp + tflite_round(float(np.float32(0.0) / np.float32(out_scale))))
    act_max = 127
    if upper is not None:
        act_max = min(127, out_zp + tflite_round(float(np.float32(upper) / np.float32(out_scale))))
    out = out_zp + mbqm(INT8_INPUTS - in_zp, mult, shift)
    return _clip8(np.clip(out, act_min, act_max))


def relu6_lut(in_scale, in_zp) -> np.ndarray:
    """TFLM Relu6: clamp to [zero, six] in the INPUT's quantized domain (no requantization)."""
    six = int(np.clip(tflite_round(float(np.float32(6.0) / np.float32(in_scale))) + in_zp, -128, 127))
    return _clip8(np.clip(INT8_INPUTS, in_zp, six))


def leaky_relu_multipliers(in_scale, out_scale, alpha: float) -> tuple:
    """TFLM CalculateOpDataLeakyRelu: the float32 scales and alpha multiplied in double (checked on
    all int16 inputs, where float32 products differ from TFLM by 1 LSB on near-ties):
    (m_identity, s_identity, m_alpha, s_alpha)."""
    s_in, s_out, a = (float(np.float32(v)) for v in (in_scale, out_scale, alpha))
    m_alpha, s_alpha = quantize_multiplier(s_in * a / s_out)
    m_id, s_id = quantize_multiplier(s_in / s_out)
    return m_id, s_id, m_alpha, s_alpha


def leaky_relu_lut(in_scale, in_zp, out_scale, out_zp, alpha: float) -> np.ndarray:
    m_id, s_id, m_alpha, s_alpha = leaky_relu_multipliers(in_scale, out_scale, alpha)
    x = INT8_INPUTS - in_zp
    out = out_zp + np.where(x >= 0, mbqm(x, m_id, s_id), mbqm(x, m_alpha, s_alpha))
    return _clip8(out)


def requantize_lut(in_scale, in_zp, out_scale, out_zp) -> np.ndarray:
    mult, shift = quantize_multiplier(float(np.float32(in_scale)) / float(np.float32(out_scale)))
    return _clip8(mbqm(INT8_INPUTS - in_zp, mult, shift) + out_zp)


def _srdhm16(a, b):
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    t = ab + nudge
    high = np.where(t >= 0, t // (1 << 15), -((-t) // (1 << 15)))
    return np.where((a == b) & (a == -32768), 32767, high)


def _sdhm16(a, b):
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    ab = a * b
    high = np.where(ab >= 0, ab // (1 << 15), -((-ab) // (1 << 15)))
    return np.where((a == b) & (a == -32768), 32767, high)


def _sat_left_shift16(v, amount):
    return np.clip(np.asarray(v, np.int64) * (1 << amount), -32768, 32767)


def _downscale_to_int16(m32: int) -> int:
    if m32 >= INT32_MAX - (1 << 15):
        return 32767
    return (m32 + (1 << 15)) >> 16


def hard_swish_lut(in_scale, in_zp, out_scale, out_zp) -> np.ndarray:
    s_in, s_out = np.float32(in_scale), np.float32(out_scale)
    hires_input_scale = np.float32(1.0 / 128.0) * s_in
    reluish_scale = np.float32(3.0) / np.float32(32768.0)
    m_out32, out_exp = quantize_multiplier(float(np.float32(hires_input_scale / s_out)))
    m_out16 = _downscale_to_int16(m_out32)
    m_rel32, rel_exp = quantize_multiplier(float(np.float32(hires_input_scale / reluish_scale)))
    m_rel16 = _downscale_to_int16(m_rel32)
    if out_exp > 0:
        raise ValueError("HARD_SWISH output multiplier exponent > 0 (TFLM refuses this model)")
    x = INT8_INPUTS - in_zp
    hires = x * (1 << 7)
    preshift = _srdhm16(hires, m_out16)
    reluish = hires
    if rel_exp > 0:
        reluish = _sat_left_shift16(reluish, rel_exp - 1)
    reluish = _srdhm16(reluish, m_rel16)
    if rel_exp > 0:
        reluish = _sat_left_shift16(reluish, 1)
    if rel_exp < 0:
        reluish = rdbp(reluish, -rel_exp)
    reluish = (reluish + (1 << 15)) >> 1
    pre_out = _sdhm16(reluish, preshift)
    out = rdbp(pre_out, -out_exp) + out_zp
    return _clip8(out)


# ---------------------------------------------------------------- softmax (int8, gemmlowp)

def softmax_params(in_scale: float, beta: float = 1.0) -> dict:
    """TFLM CalculateSoftmaxParams (int8): input_multiplier, input_left_shift, diff_min."""
    real = min(float(beta) * float(np.float32(in_scale)) * float(1 << (31 - 5)), float((1 << 31) - 1))
    mult, shift = quantize_multiplier(real)
    if shift < 0:
        raise ValueError("softmax input multiplier smaller than one")
    return {"input_multiplier": mult, "input_left_shift": shift,
            "diff_min": -calculate_input_radius(5, shift, 31)}


def softmax_tables(params: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per diff d = max - x in [0, 255]: exp_q0[d] = exp(-d*...) as FixedPoint<0> raw and
    exp_acc[d] = the same rescaled to the 12-integer-bit accumulator; -1 marks d below diff_min."""
    diff = -np.arange(256, dtype=np.int64)
    rescaled = srdhm(diff * (1 << params["input_left_shift"]), params["input_multiplier"])
    e0 = exp_on_negative_values(rescaled, 5)
    acc = rescale(e0, 0, 12)
    valid = diff >= params["diff_min"]
    return (np.where(valid, e0, -1).astype(np.int32), np.where(valid, acc, -1).astype(np.int32))


def get_reciprocal(x, x_integer_digits=12):
    x = np.asarray(x, np.int64)
    headroom_plus_one = np.array([32 - int(v).bit_length() for v in x.reshape(-1)], np.int64).reshape(x.shape)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted_sum_minus_one = wrap32(((x << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit


def softmax_int8(x, params: dict, out_min=-128, out_max=127) -> np.ndarray:
    """reference_ops::Softmax (int8 in, int8/uint8 out) over the last axis."""
    e0, acc = softmax_tables(params)
    x = np.asarray(x, np.int64)
    d = x.max(axis=-1, keepdims=True) - x
    valid = e0[d] >= 0
    total = np.where(valid, acc[d].astype(np.int64), 0).sum(axis=-1, keepdims=True)
    total = wrap32(total)
    scale, bits = get_reciprocal(total, 12)
    unsat = rdbp(srdhm(scale, e0[d].astype(np.int64)), bits + 31 - 8)
    out = np.clip(unsat + out_min, out_min, out_max)
    return np.where(valid, out, out_min)


# ---------------------------------------------------------------- MEAN

def mean_multiplier(in_scale: float, out_scale: float, num_elements: int) -> tuple[int, int]:
    """QuantizedMeanOrSum's multiplier: QuantizeMultiplier(in/out) readapted by 1/num_elements."""
    mult, shift = quantize_multiplier(float(np.float32(in_scale)) / float(np.float32(out_scale)))
    s = num_elements.bit_length() - 1  # 63 - CountLeadingZeros(uint64)
    s = min(s, 32, 31 + shift)
    mult = int((mult << s) // num_elements) if mult >= 0 else -int(((-mult) << s) // num_elements)
    return mult, shift - s
