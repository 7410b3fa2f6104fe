"""1-bit tensors packed along the channel axis in 32-bit words (see docs/binary.md).

Encoding (the one used everywhere: converter, kernels, references, blob):
- a binary value is +1 or -1; bit 0 means +1, bit 1 means -1 (the sign bit, as Larq Compute
  Engine). A real value x binarizes to -1 iff x < 0 (so sign(0) = +1);
- channel c of a pixel lives in word c // 32, bit c % 32 (bit 0 = least significant);
  words are uint32, stored little-endian in the blob;
- the unused high bits of the last word (C not a multiple of 32) are always 0 in both
  activations and weights, so they XOR to 0 and never count: a dot product over the K logical
  channels is exactly ``K - 2 * popcount(a XOR w)``.

NumPy functions here are used by the converter and the references; the @njit functions by
the kernels. ``popcount32`` is the popcount the kernels use (LLVM ctpop, which is the x86
POPCNT instruction on this CPU); the SWAR and table variants are kept for the benchmark
(benchmarks/bench_binary.py measures all three).
"""
from __future__ import annotations

import numba
import numpy as np

from tinycnn.jit import njit

WORD_BITS = 32
WORD_DTYPE = np.uint32


def words_for(channels: int) -> int:
    return (int(channels) + WORD_BITS - 1) // WORD_BITS


def sign_bits(x) -> np.ndarray:
    """bool array: True where the value binarizes to -1 (x < 0)."""
    return np.asarray(x) < 0


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """bool [..., C] -> uint32 [..., words(C)] (bit c%32 of word c//32; padding bits 0)."""
    bits = np.asarray(bits, bool)
    c = bits.shape[-1]
    nw = words_for(c)
    padded = np.zeros(bits.shape[:-1] + (nw * WORD_BITS,), bool)
    padded[..., :c] = bits
    as_bytes = np.packbits(padded, axis=-1, bitorder="little")
    return np.ascontiguousarray(as_bytes).view("<u4").astype(WORD_DTYPE).reshape(bits.shape[:-1] + (nw,))


def pack_signs(x) -> np.ndarray:
    """Real values [..., C] -> packed sign bits [..., words(C)]."""
    return pack_bits(sign_bits(x))


def unpack_bits(packed: np.ndarray, channels: int) -> np.ndarray:
    """uint32 [..., words] -> bool [..., channels] (True = -1)."""
    packed = np.ascontiguousarray(packed, WORD_DTYPE)
    as_bytes = packed.astype("<u4").view(np.uint8).reshape(packed.shape[:-1] + (packed.shape[-1] * 4,))
    bits = np.unpackbits(as_bytes, axis=-1, bitorder="little").astype(bool)
    return bits[..., :channels]


def unpack_signs(packed: np.ndarray, channels: int, dtype=np.int8) -> np.ndarray:
    """uint32 [..., words] -> +-1 values [..., channels]."""
    return np.where(unpack_bits(packed, channels), -1, 1).astype(dtype)


def padding_bits_clear(packed: np.ndarray, channels: int) -> bool:
    """True if every unused bit of the last word is 0 (the invariant the kernels rely on)."""
    extra = words_for(channels) * WORD_BITS - channels
    if extra == 0:
        return True
    mask = np.uint32(~((1 << (WORD_BITS - extra)) - 1) & 0xFFFFFFFF)
    return not np.any(np.asarray(packed)[..., -1] & mask)


# ---------------- popcount variants (Numba) ----------------

if numba.config.DISABLE_JIT:
    def popcount_ctpop(x):  # plain Python fallback
        return bin(int(x)).count("1")
else:
    from llvmlite import ir as _llvm_ir
    from numba.core import types as _types
    from numba.extending import intrinsic

    @intrinsic
    def popcount_ctpop(typingctx, x):
        """LLVM's llvm.ctpop on the integer's own width (POPCNT when the CPU has it)."""
        if not isinstance(x, _types.Integer):
            return None
        sig = _types.int64(x)

        def codegen(context, builder, signature, args):
            width = x.bitwidth
            fn = builder.module.declare_intrinsic("llvm.ctpop", [_llvm_ir.IntType(width)])
            res = builder.call(fn, [args[0]])
            return builder.zext(res, _llvm_ir.IntType(64)) if width < 64 else res
        return sig, codegen


@njit
def popcount_swar(x):
    """SWAR popcount of a 32-bit value held in int64 arithmetic (no unsigned promotion traps)."""
    v = np.int64(x) & 0xFFFFFFFF
    v = v - ((v >> 1) & 0x55555555)
    v = (v & 0x33333333) + ((v >> 2) & 0x33333333)
    v = (v + (v >> 4)) & 0x0F0F0F0F
    return ((v * 0x01010101) & 0xFFFFFFFF) >> 24


POPCOUNT_TABLE16 = np.array([bin(i).count("1") for i in range(1 << 16)], np.uint8)


@njit
def popcount_table(x, table):
    v = np.int64(x) & 0xFFFFFFFF
    return np.int64(table[v & 0xFFFF]) + np.int64(table[v >> 16])


popcount32 = popcount_ctpop


# ---------------- activation packing (Numba) ----------------

@njit
def pack_int8_s1(x, zero_point, out):
    """int8 NHWC [N,H,W,C] -> packed [N,H,W,words]: bit 1 iff (q - zero_point) < 0,
    i.e. iff the real value scale*(q - zero_point) is negative."""
    n_batch, h, w, c = x.shape
    nw = out.shape[3]
    for n in range(n_batch):
        for y in range(h):
            for xx in range(w):
                px = x[n, y, xx]
                for k in range(nw):
                    word = np.uint32(0)
                    hi = min(c, (k + 1) * 32)
                    for ch in range(k * 32, hi):
                        if np.int32(px[ch]) < zero_point:
                            word |= np.uint32(1) << np.uint32(ch - k * 32)
                    out[n, y, xx, k] = word
