"""AVX-512 VNNI int8 GEMM (tinycnn/kernels/vnni.py): exact equality with an int64 NumPy GEMM."""
from __future__ import annotations

import numpy as np
import pytest

from tinycnn.kernels import vnni

needs_vnni = pytest.mark.skipif(not vnni.available(), reason=str(vnni.unavailable_reason()))


def ref(a, w):
    return a.astype(np.int64) @ w.astype(np.int64).T


def check(a, w, out=None):
    packed = vnni.pack_weights(w)
    got = vnni.gemm_u8s8(a, packed, out)
    assert got.dtype == np.int32 and got.shape == (a.shape[0], w.shape[0])
    np.testing.assert_array_equal(got.astype(np.int64), ref(a[:, :w.shape[1]], w))
    return got


@needs_vnni
@pytest.mark.parametrize("seed", range(40))
def test_random_shapes(seed):
    rng = np.random.default_rng(seed)
    p = int(rng.integers(1, 301))
    k = int(rng.choice([1, 2, 3, 4, 5, 7, 9, 27, 31, 32, 33, 63, 64, 75, 129, 144, 288, 577]))
    cout = int(rng.choice([1, 3, 8, 15, 16, 17, 24, 31, 32, 33, 47, 48, 49, 65, 100, 129]))
    a = rng.integers(0, 256, (p, k), dtype=np.uint8)
    w = rng.integers(-128, 128, (cout, k), dtype=np.int8)
    check(a, w)


@needs_vnni
@pytest.mark.parametrize("p", [1, 2, 7, 8, 9, 15, 16, 17, 300])
@pytest.mark.parametrize("k,cout", [(3, 17), (37, 33), (130, 50), (1024, 20)])
def test_extremes(p, k, cout):
    """Every product at its extreme: 0/255 x -128/127, incl. the largest |sum| per K."""
    rng = np.random.default_rng(p * 1000 + k)
    a = rng.choice(np.array([0, 255], np.uint8), (p, k))
    w = rng.choice(np.array([-128, 127], np.int8), (cout, k))
    check(a, w)
    check(np.full((p, k), 255, np.uint8), np.full((cout, k), -128, np.int8))
    check(np.full((p, k), 255, np.uint8), np.full((cout, k), 127, np.int8))


@needs_vnni
def test_long_k_near_limit():
    """K close to the int32 limit: the extreme sums are 255 * 128 * K < 2**31."""
    k = vnni.K_LIMIT - 3
    a = np.full((9, k), 255, np.uint8)
    w = np.full((17, k), -128, np.int8)
    w[1] = 127
    got = check(a, w)
    assert got.min() == -255 * 128 * k
    with pytest.raises(ValueError, match="overflow"):
        vnni.gemm_u8s8(np.zeros((1, vnni.K_LIMIT + 1), np.uint8),
                       vnni.pack_weights(np.zeros((1, vnni.K_LIMIT + 1), np.int8)))


@needs_vnni
def test_strided_rows_and_out():
    """A as a view of a wider (e.g. K-padded im2col) buffer; out as a column slice."""
    rng = np.random.default_rng(1)
    buf = rng.integers(0, 256, (45, 40), dtype=np.uint8)
    w = rng.integers(-128, 128, (21, 35), dtype=np.int8)
    check(buf[:, :35], w)
    check(buf, w)  # A wider than K: the extra columns are ignored
    out_buf = np.full((45, 30), -7, np.int32)
    got = vnni.gemm_u8s8(buf[:, :35], vnni.pack_weights(w), out_buf[:, 2:23])
    np.testing.assert_array_equal(got, ref(buf[:, :35], w))
    assert (out_buf[:, :2] == -7).all() and (out_buf[:, 23:] == -7).all()


@needs_vnni
def test_columns_past_cout_untouched():
    """The partial last 16-column vector never writes past Cout (the next row's start)."""
    rng = np.random.default_rng(2)
    for cout in (1, 5, 17, 40):
        a = rng.integers(0, 256, (19, 10), dtype=np.uint8)
        w = rng.integers(-128, 128, (cout, 10), dtype=np.int8)
        flat = np.full(19 * cout + 16, 12345, np.int32)
        out = flat[:19 * cout].reshape(19, cout)
        vnni.gemm_u8s8(a, vnni.pack_weights(w), out)
        np.testing.assert_array_equal(out, ref(a, w))
        assert (flat[19 * cout:] == 12345).all()


@needs_vnni
def test_empty():
    assert vnni.gemm_u8s8(np.zeros((0, 8), np.uint8), vnni.pack_weights(np.ones((3, 8), np.int8))
                          ).shape == (0, 3)
    assert vnni.gemm_u8s8(np.zeros((4, 8), np.uint8), vnni.pack_weights(np.ones((0, 8), np.int8))
                          ).shape == (4, 0)
    np.testing.assert_array_equal(
        vnni.gemm_u8s8(np.zeros((4, 0), np.uint8), vnni.pack_weights(np.ones((5, 0), np.int8))),
        np.zeros((4, 5), np.int32))


@needs_vnni
def test_signed_input_via_offset_and_bias_fold():
    """The convolution recipe: u8 = x ^ 0x80 (= x + 128), correction (off - 128) * sum(w)."""
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, (33, 75), dtype=np.int8)
    x[0] = -128
    x[1] = 127
    w = rng.integers(-128, 128, (19, 75), dtype=np.int8)
    bias = rng.integers(-5000, 5000, 19).astype(np.int32)
    input_offset = 37  # = -input zero point
    packed = vnni.pack_weights(w)
    b_eff = bias + (input_offset - 128) * packed.wsum
    got = vnni.gemm_u8s8(x.view(np.uint8) ^ np.uint8(0x80), packed) + b_eff
    want = (x.astype(np.int64) + input_offset) @ w.astype(np.int64).T + bias
    np.testing.assert_array_equal(got, want)


def test_pack_layout():
    w = np.arange(-60, 60, dtype=np.int8).reshape(20, 6)
    d = vnni.pack_weights(w).data
    assert d.shape == (2, 2, 64)
    for o in range(20):
        for kk in range(6):
            assert d[o // 16, kk // 4, 4 * (o % 16) + kk % 4] == w[o, kk]
    assert int(np.abs(d.astype(np.int64)).sum()) == int(np.abs(w.astype(np.int64)).sum())


def test_fallback_without_vnni(monkeypatch):
    """When VNNI is unavailable gemm_u8s8 falls back to an exact NumPy GEMM."""
    monkeypatch.setattr(vnni, "_AVAILABLE", False)
    rng = np.random.default_rng(4)
    a = rng.integers(0, 256, (13, 37), dtype=np.uint8)
    w = rng.integers(-128, 128, (18, 37), dtype=np.int8)
    check(a, w)


@needs_vnni
@pytest.mark.parametrize("kh,kw,stride,pad,zp", [(1, 1, 1, [0, 0, 0, 0], -128),
                                                 (3, 3, 1, [1, 1, 1, 1], 5),
                                                 (3, 3, 2, [0, 0, 1, 1], 127),
                                                 (2, 3, 2, [1, 0, 0, 2], -3)])
def test_conv_recipe_matches_int64_conv(kh, kw, stride, pad, zp):
    """im2col_u8 / s8_to_u8 + gemm_u8s8 + folded_bias_u8 == the int64 convolution sum with the
    input zero point in the padding (what conv_gemm computes before requantization)."""
    from tinycnn.reference.float_ops import extract_patches
    rng = np.random.default_rng(kh * 1000 + zp + 128)
    x = rng.integers(-128, 128, (1, 7, 9, 5), dtype=np.int8)
    x.flat[:4] = [-128, 127, -128, 127]
    cout = 19
    w = rng.integers(-128, 128, (cout, kh, kw, 5), dtype=np.int8)
    bias = rng.integers(-10000, 10000, cout).astype(np.int32)
    input_offset = -zp
    pt, pl, pb, pr = pad
    oh = (7 + pt + pb - kh) // stride + 1
    ow = (9 + pl + pr - kw) // stride + 1
    geom = np.array([stride, stride, 1, 1, pt, pl, 0, pb, pr], np.int64)
    k = kh * kw * 5
    col = np.empty((oh * ow, k), np.uint8)
    if (kh, kw, stride) == (1, 1, 1) and not any(pad):
        vnni.s8_to_u8(x.reshape(-1, 5), col)
    else:
        vnni.im2col_u8(x, kh, kw, geom, zp + 128, col)
    # independent oracle for the patches: the NumPy reference's stride-trick patch extraction,
    # padded with the input zero point
    ref_cols = extract_patches(x.astype(np.int64), kh, kw, {"stride": [stride, stride], "dilation": [1, 1],
                                                            "pad": list(pad)}, pad_value=zp).reshape(oh * ow, k)
    np.testing.assert_array_equal(col.astype(np.int64), ref_cols + 128)
    packed = vnni.pack_weights(w.reshape(cout, k))
    b_eff = vnni.folded_bias_u8(packed, bias, input_offset)
    got = vnni.gemm_u8s8(col, packed) + b_eff
    want = (ref_cols + input_offset) @ w.reshape(cout, k).astype(np.int64).T + bias
    np.testing.assert_array_equal(got, want)
