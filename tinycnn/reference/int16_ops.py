"""NumPy integer oracles for TFLite's 16x8 scheme (``attrs["kernel_variant"] == "int16x8"``):
int16 activations (symmetric, zero point 0), int8 weights, int64 biases.

- CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED / TRANSPOSE_CONV (scattered): int64 accumulator = sum(x * w) + bias, then
  TFLite's int64 ``MultiplyByQuantizedMultiplier`` (the 32-bit multiplier rounded to 16 bits,
  one rounding shift; reference_integer_ops/conv.h, depthwise_conv.h, fully_connected.h int16
  paths), + output offset (0), clamp to the fused activation range, int16;
- ADD / SUB: the int8 formula with left_shift 15 (TFLM add.cc for int16), int16 output;
- MEAN: the int8 tinycnn formula (multiplier folds 1/(H*W)) with an int16 clamp;
- REQUANTIZE: int8 <-> int16 (or same type) ``MultiplyByQuantizedMultiplier(x - zp_in) + zp_out``
  clamped to the output type (TFLite quantize.cc Requantize);
- CONCATENATION: copy, or requantize each input whose scale differs, int16 clamp;
- LEAKY_RELU: TFLite's QuantizeLeakyRelu: ``x - zp_in`` times the identity multiplier where
  it is >= 0, else the alpha multiplier (32-bit MultiplyByQuantizedMultiplier), + zp_out, int16
  clamp (TFLM leaky_relu.cc int16 path);
- SIGMOID / TANH: TFLite's int16 LUT algorithm (reference_integer_ops::Logistic / Tanh): the
  input rescaled by ``(x * input_multiplier + round) >> input_left_shift`` (multiplier 0: the
  power-of-two case, 3 << shift), then linear interpolation in SIGMOID_TABLE_UINT16, the
  256-entry table of sigmoid(i / 24) in 0.16 fixed point (tanh(x) = 2 * sigmoid(2x) - 1 reads
  the same table with 8 fractional bits; measured from TFLM, sigmoid_table16.py); output scale 2^-15.
Merged into tinycnn.reference.int_ops.INT_OPS under the keys (op, "int16x8").
"""
from __future__ import annotations

import numpy as np

from tinycnn.fixedpoint import np_multiply_by_quantized_multiplier as mbqm
from tinycnn.ir import Op
from tinycnn.reference.float_ops import extract_patches
from tinycnn.reference.sigmoid_table16 import SIGMOID_TABLE_UINT16 as _TABLE

VARIANT = "int16x8"


def np_multiply_by_quantized_multiplier_int64(x, multiplier, shift):
    """TFLite MultiplyByQuantizedMultiplier(int64_t x, int32_t m, int shift) (double rounding
    build): m reduced to 16 bits with rounding, then one rounding right shift by 15 - shift."""
    x = np.asarray(x, np.int64)
    m = np.asarray(multiplier, np.int64)
    reduced = np.where(m < 0x7FFF0000, (m + (1 << 15)) >> 16, 0x7FFF)
    total_shift = 15 - np.asarray(shift, np.int64)
    return (x * reduced + (np.int64(1) << (total_shift - 1))) >> total_shift


def _type_range(node):
    info = np.iinfo(np.dtype(node.attrs.get("output_dtype", "int16")))
    return int(info.min), int(info.max)


def _finish16(acc, node):
    a = node.attrs
    return np.clip(acc + a["output_offset"], a["act_min"], a["act_max"]).astype(np.int16)


def _requant_acc(acc, node):
    p = node.params
    return np_multiply_by_quantized_multiplier_int64(acc, p["output_multiplier"], p["output_shift"])


def conv_2d(node, x, w, b):
    a = node.attrs
    cout, kh, kw, cig = w.shape
    groups = a.get("groups", 1)
    patches = extract_patches(x.astype(np.int64), kh, kw, a, pad_value=0)
    cog = cout // groups
    accs = [np.tensordot(patches[..., g * cig:(g + 1) * cig], w[g * cog:(g + 1) * cog].astype(np.int64),
                         axes=([3, 4, 5], [1, 2, 3])) for g in range(groups)]
    acc = np.concatenate(accs, axis=-1) + b.astype(np.int64)
    return _finish16(_requant_acc(acc, node), node)


def depthwise_conv_2d(node, x, w, b):
    a = node.attrs
    kh, kw, _ = w.shape
    patches = np.repeat(extract_patches(x.astype(np.int64), kh, kw, a, pad_value=0),
                        a.get("depth_multiplier", 1), axis=-1)
    acc = np.einsum("nhwijc,ijc->nhwc", patches, w.astype(np.int64)) + b.astype(np.int64)
    return _finish16(_requant_acc(acc, node), node)


def fully_connected(node, x, w, b):
    acc = x.reshape(x.shape[0], -1).astype(np.int64) @ w.astype(np.int64).T + b.astype(np.int64)
    return _finish16(_requant_acc(acc, node), node)


def add_sub(node, x1, x2):
    a = node.attrs
    s1 = (x1.astype(np.int64) + a["input1_offset"]) << a["left_shift"]
    s2 = (x2.astype(np.int64) + a["input2_offset"]) << a["left_shift"]
    s1 = mbqm(s1, a["input1_multiplier"], a["input1_shift"])
    s2 = mbqm(s2, a["input2_multiplier"], a["input2_shift"])
    raw = s1 + s2 if node.op == Op.ADD else s1 - s2
    out = mbqm(raw, a["output_multiplier"], a["output_shift"]) + a["output_offset"]
    return np.clip(out, a["act_min"], a["act_max"]).astype(np.int16)


def mean(node, x):
    a = node.attrs
    s = x.astype(np.int64).sum(axis=(1, 2), keepdims=True) + a["input_offset"] * x.shape[1] * x.shape[2]
    y = mbqm(s, a["output_multiplier"], a["output_shift"]) + a["output_offset"]
    return np.clip(y, -32768, 32767).astype(np.int16)


def requantize(node, x):
    a = node.attrs
    lo, hi = _type_range(node)
    out = mbqm(x.astype(np.int64) + a["input_offset"], a["output_multiplier"], a["output_shift"])
    return np.clip(out + a["output_offset"], lo, hi).astype(np.dtype(a["output_dtype"]))


def concatenation(node, *xs):
    lo, hi = _type_range(node)
    parts = []
    for x, (off, m, s) in zip(xs, node.params["requant"]):
        if m == 0:
            parts.append(x.astype(np.int16))
        else:
            y = mbqm(x.astype(np.int64) + off, m, s) + node.attrs["output_offset"]
            parts.append(np.clip(y, lo, hi).astype(np.int16))
    return np.concatenate(parts, axis=node.attrs["axis"])


def transpose_conv(node, x, w, b):
    """TFLM transpose_conv.cc int16: scatter into int64 accumulators, + int64 bias, then as conv."""
    from tinycnn.reference.transpose_conv import _scatter
    acc = _scatter(x.astype(np.int64), w.astype(np.int64), node.attrs) + b.astype(np.int64)
    return _finish16(_requant_acc(acc, node), node)


def leaky_relu(node, x):
    a = node.attrs
    v = x.astype(np.int64) + a["input_offset"]
    pos = mbqm(v, a["output_multiplier_1"], a["output_shift_1"])
    neg = mbqm(v, a["output_multiplier_2"], a["output_shift_2"])
    return np.clip(np.where(v >= 0, pos, neg) + a["output_offset"], -32768, 32767).astype(np.int16)


SIGMOID_TABLE_UINT16 = np.array(_TABLE, np.int64)


def sigmoid_tanh_16(x, input_multiplier, input_left_shift, tanh):
    """int16 logistic (tanh=False) or tanh of int16 x, as TFLite's reference integer ops."""
    mult, lshift = int(input_multiplier), int(input_left_shift)
    if mult == 0:  # power-of-two input scale
        mult, lshift = 3 << lshift, 0
    rnd = (1 << (lshift - 1)) if lshift > 0 else 0
    v = (x.astype(np.int64) * mult + rnd) >> lshift
    a = np.abs(v)
    frac_bits = 8 if tanh else 9
    uh = a >> frac_bits
    i = np.minimum(uh, 254)
    ua, ub = SIGMOID_TABLE_UINT16[i], SIGMOID_TABLE_UINT16[i + 1]
    r = (ua << frac_bits) + (a & ((1 << frac_bits) - 1)) * (ub - ua)
    if tanh:
        r = np.where(uh >= 255, 0xFFFF << 8, r)
        r = np.where(v >= 0, r - (1 << 23) + (1 << 7), -r + (1 << 23) + (1 << 7) - 1) >> 8
    else:
        r = np.where(uh >= 255, 0x7FFF << 10, r)
        r = np.where(v >= 0, r + (1 << 9), (1 << 25) - r + (1 << 9) - 1) >> 10
    return r.astype(np.int16)


def sigmoid(node, x):
    return sigmoid_tanh_16(x, node.attrs["input_multiplier"], node.attrs["input_left_shift"], False)


def tanh(node, x):
    return sigmoid_tanh_16(x, node.attrs["input_multiplier"], node.attrs["input_left_shift"], True)


INT16X8_OPS = {(op, VARIANT): fn for op, fn in [
    (Op.SIGMOID, sigmoid), (Op.TANH, tanh), (Op.TRANSPOSE_CONV, transpose_conv),
    (Op.LEAKY_RELU, leaky_relu),
    (Op.CONV_2D, conv_2d), (Op.DEPTHWISE_CONV_2D, depthwise_conv_2d), (Op.FULLY_CONNECTED, fully_connected),
    (Op.ADD, add_sub), (Op.SUB, add_sub), (Op.MEAN, mean), (Op.REQUANTIZE, requantize),
    (Op.CONCATENATION, concatenation)]}
