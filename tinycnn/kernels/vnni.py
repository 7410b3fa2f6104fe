"""Exact int8 GEMM on AVX-512 VNNI (``vpdpbusd``: u8 x s8 -> i32, 64 MACs per instruction),
from Numba without a C compiler: a numba ``@intrinsic`` emits the register-blocked microkernel
as LLVM IR and calls ``llvm.x86.avx512.vpdpbusd.512``.

    C[P, Cout] (int32) = A[P, K] (uint8) @ W[Cout, K].T (int8)

Exact: every u8 x s8 product is at most 255*128 in magnitude and the accumulation is in int32,
so any K < 2**31 / (255 * 128) (= 65793) is exact; ``gemm_u8s8`` refuses larger K.

Using it for a signed int8 convolution: feed A = x + 128 as uint8 (``x ^ 0x80`` is the same bit
pattern) and fold the correction into the bias:
    sum_k (x + off) * w = sum_k (x + 128) * w + (off - 128) * sum_k w
so ``bias_eff = bias + (input_offset - 128) * wsum`` (``PackedWeights.wsum``).

Weight layout (packed once, at plan time): int8 [nvec, K4, 64] with nvec = ceil(Cout / 16),
K4 = ceil(K / 4) and ``packed[v, q, 4 * j + t] = W[16 * v + j, 4 * q + t]`` (zero padded).
Each 16-column panel is contiguous (K4 * 64 bytes), so the microkernel streams it linearly
(the plain [K4][Cout][4] layout strides by 4 * Cout bytes, which aliases in L1 for Cout >= 1024).

A needs unit stride along K only (any row stride: a [P, K] array, or a wider buffer's view). The
K tail (K % 4 != 0) is read byte by byte, never past the row end. Output columns past Cout are
never written.

The microkernel keeps MR x NV accumulators (MR rows x 16*NV int32 columns) in zmm registers
over the whole K; the driver walks 16*NV-column panels (outer) and MR-row blocks (inner), the
last block overlapping the previous one (recomputing a few rows) instead of needing a variant.

Caching: the intrinsic is compiled into the calling function's library, so ``cache=True`` works
like for any other kernel (the on-disk cache is keyed on the host CPU name and features, so a
cache built on a VNNI machine is not reused elsewhere).
"""
from __future__ import annotations

import os

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from tinycnn.jit import njit
from tinycnn.kernels.conv_gemm import im2col

MR = 8  # rows per microkernel tile
NV = 2  # 16-column int32 vectors per microkernel tile (NV * 16 columns)
K_LIMIT = (1 << 31) // (255 * 128)  # int32 accumulation of u8 x s8 is exact for K <= this

_AVAILABLE = None


def _cpu_flags() -> set:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def available() -> bool:
    """True when the CPU has AVX-512 VNNI and Numba compiles for it (host CPU target)."""
    global _AVAILABLE
    if _AVAILABLE is None:
        _AVAILABLE = unavailable_reason() is None
    return _AVAILABLE


def unavailable_reason():
    """None when the VNNI kernel can run, else why not (a string)."""
    try:
        import llvmlite.binding as llvm
        feats = llvm.get_host_cpu_features()
        has = all(feats.get(f) for f in ("avx512vnni", "avx512f", "avx512bw"))
    except Exception:  # noqa: BLE001 - fall back to /proc/cpuinfo
        has = {"avx512_vnni", "avx512f", "avx512bw"} <= _cpu_flags()
    if not has:
        return "CPU lacks AVX-512 VNNI (avx512_vnni / avx512f / avx512bw)"
    if os.environ.get("TINYCNN_NO_VNNI"):
        return "disabled by TINYCNN_NO_VNNI"
    if os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"):
        return "NUMBA_DISABLE_JIT is set (the kernel is an LLVM intrinsic)"
    from numba.core import config
    if config.CPU_NAME not in (None, "host") or config.CPU_FEATURES:
        return "Numba compiles for a non-host CPU (NUMBA_CPU_NAME / NUMBA_CPU_FEATURES)"
    return None


# ---------------------------------------------------------------- the microkernel intrinsic

_I8 = ir.IntType(8)
_I32 = ir.IntType(32)
_I64 = ir.IntType(64)
_V16 = ir.VectorType(_I32, 16)


def _byte_ptr(builder, base, offset):
    return builder.gep(base, [offset])


@intrinsic
def _tile(typingctx, a, a_off, lda, b, b_off, ldb, k4, krem, c, c_off, ldc, nlast, mr, nv):
    """C[mr rows, nv*16 cols] = A-rows . B-panels over K = 4*k4 + krem (all offsets/strides in
    bytes). Columns of the last vector >= nlast are not stored. mr, nv: literal ints."""
    if not (isinstance(mr, types.IntegerLiteral) and isinstance(nv, types.IntegerLiteral)):
        return None
    n_rows, n_vec = mr.literal_value, nv.literal_value
    sig = types.void(a, a_off, lda, b, b_off, ldb, k4, krem, c, c_off, ldc, nlast, mr, nv)

    def codegen(context, builder, signature, args):
        (a_v, a_off_v, lda_v, b_v, b_off_v, ldb_v, k4_v, krem_v, c_v, c_off_v, ldc_v,
         nlast_v, _, _) = args
        ints = [context.cast(builder, v, t, types.int64) for v, t in
                zip((a_off_v, lda_v, b_off_v, ldb_v, k4_v, krem_v, c_off_v, ldc_v, nlast_v),
                    (signature.args[i] for i in (1, 2, 4, 5, 6, 7, 9, 10, 11)))]
        a_off_v, lda_v, b_off_v, ldb_v, k4_v, krem_v, c_off_v, ldc_v, nlast_v = ints
        a_base = builder.bitcast(context.make_array(signature.args[0])(context, builder, a_v).data,
                                 _I8.as_pointer())
        b_base = builder.bitcast(context.make_array(signature.args[3])(context, builder, b_v).data,
                                 _I8.as_pointer())
        c_base = builder.bitcast(context.make_array(signature.args[8])(context, builder, c_v).data,
                                 _I8.as_pointer())
        dp = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_V16, [_V16] * 3),
                                            "llvm.x86.avx512.vpdpbusd.512")
        zero = ir.Constant(_V16, None)
        splat_mask = ir.Constant(ir.VectorType(_I32, 16), [0] * 16)

        def splat(x32):
            v = builder.insert_element(ir.Constant(_V16, ir.Undefined), x32, ir.Constant(_I32, 0))
            return builder.shuffle_vector(v, ir.Constant(_V16, ir.Undefined), splat_mask)

        a_rows = [_byte_ptr(builder, a_base,
                            builder.add(a_off_v, builder.mul(lda_v, ir.Constant(_I64, r))))
                  for r in range(n_rows)]
        b_vecs = [_byte_ptr(builder, b_base,
                            builder.add(b_off_v, builder.mul(ldb_v, ir.Constant(_I64, v))))
                  for v in range(n_vec)]

        def step(accs, a_words, q):
            """accs[r][v] += A-word(r) . B[v, q]"""
            bq = builder.mul(q, ir.Constant(_I64, 64))
            bv = [builder.load(builder.bitcast(_byte_ptr(builder, b_vecs[v], bq),
                                               _V16.as_pointer()), align=1)
                  for v in range(n_vec)]
            out = []
            for r in range(n_rows):
                ar = splat(a_words[r])
                out.append([builder.call(dp, [accs[r][v], ar, bv[v]]) for v in range(n_vec)])
            return out

        # main loop over the K4 full words
        pre = builder.block
        head = builder.append_basic_block("vnni.head")
        body = builder.append_basic_block("vnni.body")
        done = builder.append_basic_block("vnni.done")
        builder.branch(head)
        builder.position_at_end(head)
        q = builder.phi(_I64)
        q.add_incoming(ir.Constant(_I64, 0), pre)
        phis = [[builder.phi(_V16) for _ in range(n_vec)] for _ in range(n_rows)]
        for row in phis:
            for p in row:
                p.add_incoming(zero, pre)
        builder.cbranch(builder.icmp_signed("<", q, k4_v), body, done)
        builder.position_at_end(body)
        qa = builder.mul(q, ir.Constant(_I64, 4))
        words = [builder.load(builder.bitcast(_byte_ptr(builder, a_rows[r], qa), _I32.as_pointer()),
                              align=1) for r in range(n_rows)]
        new = step(phis, words, q)
        q_next = builder.add(q, ir.Constant(_I64, 1))
        end_body = builder.block
        builder.branch(head)
        q.add_incoming(q_next, end_body)
        for r in range(n_rows):
            for v in range(n_vec):
                phis[r][v].add_incoming(new[r][v], end_body)
        builder.position_at_end(done)
        accs = phis

        # K tail: krem in 1..3 bytes per row, read without passing the row end
        tail = builder.append_basic_block("vnni.tail")
        merge = builder.append_basic_block("vnni.merge")
        before_tail = builder.block
        builder.cbranch(builder.icmp_signed(">", krem_v, ir.Constant(_I64, 0)), tail, merge)
        builder.position_at_end(tail)
        qa = builder.mul(k4_v, ir.Constant(_I64, 4))
        last_idx = builder.sub(krem_v, ir.Constant(_I64, 1))
        tail_words = []
        for r in range(n_rows):
            word = ir.Constant(_I32, 0)
            base = _byte_ptr(builder, a_rows[r], qa)
            for t in range(4):
                tt = ir.Constant(_I64, t)
                keep = builder.icmp_signed("<", tt, krem_v)
                idx = builder.select(keep, tt, last_idx)
                byte = builder.zext(builder.load(_byte_ptr(builder, base, idx), align=1), _I32)
                byte = builder.select(keep, byte, ir.Constant(_I32, 0))
                word = builder.or_(word, builder.shl(byte, ir.Constant(_I32, 8 * t)))
            tail_words.append(word)
        tail_accs = step(accs, tail_words, k4_v)
        end_tail = builder.block
        builder.branch(merge)
        builder.position_at_end(merge)
        final = []
        for r in range(n_rows):
            row = []
            for v in range(n_vec):
                p = builder.phi(_V16)
                p.add_incoming(accs[r][v], before_tail)
                p.add_incoming(tail_accs[r][v], end_tail)
                row.append(p)
            final.append(row)

        # stores; the last vector may be partial (nlast < 16)
        full = builder.icmp_signed(">=", nlast_v, ir.Constant(_I64, 16))
        for r in range(n_rows):
            row_ptr = _byte_ptr(builder, c_base,
                                builder.add(c_off_v, builder.mul(ldc_v, ir.Constant(_I64, r))))
            for v in range(n_vec):
                ptr = _byte_ptr(builder, row_ptr, ir.Constant(_I64, 64 * v))
                if v < n_vec - 1:
                    builder.store(final[r][v], builder.bitcast(ptr, _V16.as_pointer()), align=4)
                    continue
                with builder.if_else(full) as (then, otherwise):
                    with then:
                        builder.store(final[r][v], builder.bitcast(ptr, _V16.as_pointer()), align=4)
                    with otherwise:
                        iptr = builder.bitcast(ptr, _I32.as_pointer())
                        for e in range(16):
                            with builder.if_then(builder.icmp_signed("<", ir.Constant(_I64, e),
                                                                     nlast_v)):
                                builder.store(builder.extract_element(final[r][v],
                                                                      ir.Constant(_I32, e)),
                                              builder.gep(iptr, [ir.Constant(_I64, e)]), align=4)
        return context.get_dummy_value()

    return sig, codegen


@njit
def _tile_nv(a, a_off, lda, b, b_off, ldb, k4, krem, c, c_off, ldc, nlast, rows, nv):
    """Dispatch to a literal (rows, nv) microkernel variant: rows in {MR, 1}, nv in 1..NV."""
    if rows == 8:
        if nv == 2:
            _tile(a, a_off, lda, b, b_off, ldb, k4, krem, c, c_off, ldc, nlast, 8, 2)
        else:
            _tile(a, a_off, lda, b, b_off, ldb, k4, krem, c, c_off, ldc, nlast, 8, 1)
    else:
        if nv == 2:
            _tile(a, a_off, lda, b, b_off, ldb, k4, krem, c, c_off, ldc, nlast, 1, 2)
        else:
            _tile(a, a_off, lda, b, b_off, ldb, k4, krem, c, c_off, ldc, nlast, 1, 1)


@njit
def gemm_u8s8_raw(a, bp, k, cout, out):
    """out[P, cout] int32 = a[P, >=k] uint8 @ W.T with bp = pack_weights(W).data (int8
    [nvec, K4, 64]). a and out need unit stride along their last axis. No checks (see
    gemm_u8s8)."""
    p_rows = a.shape[0]
    nvec = bp.shape[0]
    k4 = k // 4
    krem = k - 4 * k4
    lda = a.strides[0]
    ldb = bp.strides[0]
    ldc = out.strides[0]
    nlast_all = cout - 16 * (nvec - 1)
    if p_rows == 0 or nvec == 0:
        return
    j0 = 0
    while j0 < nvec:
        if j0 + NV > nvec:
            if nvec >= NV:
                j0 = nvec - NV  # overlap the previous panel instead of a narrower variant
        nv = min(NV, nvec - j0)
        nlast = nlast_all if j0 + nv == nvec else 16
        b_off = j0 * ldb
        c_col = j0 * 64
        if p_rows >= MR:
            i = 0
            while i < p_rows:
                if i + MR > p_rows:
                    i = p_rows - MR
                _tile_nv(a, i * lda, lda, bp, b_off, ldb, k4, krem, out, i * ldc + c_col, ldc,
                         nlast, MR, nv)
                i += MR
        else:
            for i in range(p_rows):
                _tile_nv(a, i * lda, lda, bp, b_off, ldb, k4, krem, out, i * ldc + c_col, ldc,
                         nlast, 1, nv)
        j0 += nv


@njit
def _pack(w, out):
    cout, k = w.shape
    for o in range(cout):
        v = o // 16
        j = o - 16 * v
        for kk in range(k):
            q = kk // 4
            out[v, q, 4 * j + kk - 4 * q] = w[o, kk]


class PackedWeights:
    """Weights [Cout, K] int8 in the VNNI panel layout (``data``: int8 [nvec, K4, 64]), with the
    per-channel sums ``wsum`` (int64 [Cout]) for the u8 bias correction."""

    def __init__(self, w):
        w = np.ascontiguousarray(w)
        if w.dtype != np.int8 or w.ndim != 2:
            raise ValueError("pack_weights expects int8 [Cout, K]")
        self.cout, self.k = w.shape
        self.w = w
        self.wsum = w.astype(np.int64).sum(1)
        nvec = -(-self.cout // 16)
        k4 = -(-self.k // 4)
        self.data = np.zeros((nvec, k4, 64), np.int8)
        if w.size:
            _pack(w, self.data)


def pack_weights(w) -> PackedWeights:
    return PackedWeights(w)


def gemm_u8s8(a, packed: PackedWeights, out=None):
    """out[P, Cout] int32 = a[P, K] uint8 @ W[Cout, K].T, exactly. Uses VNNI when available(),
    else an exact NumPy integer GEMM."""
    a = np.asarray(a)
    if a.dtype != np.uint8 or a.ndim != 2 or a.shape[1] < packed.k:
        raise ValueError(f"a must be uint8 [P, >={packed.k}], got {a.dtype} {a.shape}")
    if packed.k > K_LIMIT:
        raise ValueError(f"K = {packed.k} > {K_LIMIT}: int32 accumulation could overflow")
    p_rows = a.shape[0]
    if out is None:
        out = np.empty((p_rows, packed.cout), np.int32)
    if out.dtype != np.int32 or out.shape != (p_rows, packed.cout):
        raise ValueError("out must be int32 [P, Cout]")
    if not available():
        np.matmul(a[:, :packed.k].astype(np.int32), packed.w.T.astype(np.int32), out=out)
        return out
    if a.strides[1] != 1:
        a = np.ascontiguousarray(a)
    if out.strides[1] != 4:
        tmp = np.empty((p_rows, packed.cout), np.int32)
        gemm_u8s8_raw(a, packed.data, packed.k, packed.cout, tmp)
        out[...] = tmp
        return out
    gemm_u8s8_raw(a, packed.data, packed.k, packed.cout, out)
    return out


# ---------------------------------------------------------------- convolution helpers

@njit
def s8_to_u8(x2d, col):
    """col[P, >=C] uint8 = x2d[P, C] int8 + 128 (the pointwise-conv "im2col")."""
    rows, cols = x2d.shape
    for i in range(rows):
        for j in range(cols):
            col[i, j] = np.uint8(np.int32(x2d[i, j]) + 128)


@njit
def im2col_u8(x, kh, kw, geom, pad_u8, col):
    """x [N,H,W,C] int8 -> col [N*OH*OW, >=KH*KW*C] uint8 holding x + 128 (groups = 1); padded
    taps hold pad_u8 = input zero point + 128. geom as conv_gemm.im2col."""
    im2col(x, kh, kw, geom, np.uint8(pad_u8), 128, col)


def folded_bias_u8(packed: PackedWeights, bias, input_offset):
    """bias + (input_offset - 128) * sum(w) per output channel (int32), or None on overflow:
    sum((x + off) * w) + bias = sum((x + 128) * w) + folded_bias_u8."""
    b = np.asarray(bias, np.int64) + (int(input_offset) - 128) * packed.wsum
    if np.any(np.abs(b) >= 2 ** 31):
        return None
    return b.astype(np.int32)
