/* Armv7E-M DSP paths (SMLAD / SXTB16 / SXTAB16 / SMLABB / SMLATT) of the int8 conv, 1x1 conv,
 * depthwise conv and fully connected kernels, in the CMSIS-NN way but our own code:
 * - conv (any kernel size, groups 1): the patches of two output pixels are gathered (im2col) into
 *   int16 columns with the input offset added, once per pixel pair, in the order SXTB16 needs
 *   (x0, x2, x1, x3 per group of four), and a 2x2 tile (2 pixels x 2 output channels) is
 *   accumulated with SMLAD: the weights' widening (one SXTB16 and one SXTB16 ROR #8 per four
 *   weights) is shared by both pixels, the columns' widening by every output channel;
 * - fully connected: the input row is widened once into an int16 column shared by all output
 *   channels, two channels per pass;
 * - depthwise (depth multiplier 1): four channels per step, input offset added by SXTAB16, four
 *   SMLABB/SMLATT multiply-accumulates.
 * Sums are the same int32 sums as the portable kernels (bit-exact: integer addition in another
 * order). Compiled only when __ARM_FEATURE_DSP is defined. */
#include <string.h>

#include "../tcnn_internal.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>

#define F(name) (a->f[name])
#define IDX4(S, N_, Y_, X_, C_) ((((size_t)(N_) * (S).h + (Y_)) * (S).w + (X_)) * (S).c + (C_))

static inline int32_t sxtb16_ror8(int32_t x) {
  int32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
  return r;
}
static inline int32_t sxtab16_ror8(int32_t acc, int32_t x) {
  int32_t r;
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
  return r;
}
static inline int32_t read_s8x4(const int8_t *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* Requantization of an int32 sum + output offset + clamp, exactly tcnn_mbqm (TFLite
 * MultiplyByQuantizedMultiplier) for shift <= 0 and multiplier != INT32_MIN (else the portable
 * function): the doubling high multiply SRDHM(a, m) = trunc((a*m + nudge) / 2^31) equals
 * floor((a*m + 2^30) / 2^31) for every sign (one SMLAL), and the rounding divide by 2^e is
 * (x >> e) + ((r + 2^(e-1) - neg) >> e) with r = x & (2^e - 1), unsigned (cannot overflow). */
__attribute__((noinline)) static int32_t rq_slow(int32_t acc, int32_t mult, int32_t shift) {
  return (int32_t)tcnn_mbqm(acc, mult, shift);
}
static inline int8_t rq_out(int32_t acc, int32_t mult, int32_t shift, int32_t out_off, int32_t lo, int32_t hi) {
  int32_t v;
  if (__builtin_expect(shift > 0 || mult == INT32_MIN, 0)) {
    v = rq_slow(acc, mult, shift);
  } else {
    const int32_t x = (int32_t)(((int64_t)acc * mult + (1 << 30)) >> 31);
    const int32_t e = -shift;
    v = x;
    if (e) v = (x >> e) + (int32_t)((((uint32_t)x & ((1u << e) - 1u)) + (1u << (e - 1)) + (uint32_t)(x >> 31)) >> e);
  }
  v += out_off;
  v = v < lo ? lo : v;
  return (int8_t)(v > hi ? hi : v);
}

/* n int8 values + in_off as int16, each group of four stored as two words (x0, x2) and (x1, x3)
 * (what SXTB16 / SXTB16 ROR #8 give), the odd word `odd` int16 after the even one and the next
 * group `step` int16 further; n % 4 == 0 */
static inline void widen4(const int8_t *x, int16_t *col, int32_t n, int32_t off2, int32_t odd, int32_t step) {
  for (int32_t i = 0; i < n; i += 4, col += step) {
    const int32_t v = read_s8x4(x + i);
    const int32_t e = __sxtab16(off2, v), o = sxtab16_ror8(off2, v);
    memcpy(col, &e, 4);
    memcpy(col + odd, &o, 4);
  }
}

/* Two im2col columns interleaved for the 2x2 tile: per group of four K values 8 int16,
 * [c0: x0 x2][c1: x0 x2][c0: x1 x3][c1: x1 x3]; the K % 4 tail after the groups, c0 c1 per k.
 * Column j of output pixel (n, oy, ox): x + in_off, 0 in the padding. */
static inline int32_t colpos(int32_t k, int32_t k4, int32_t j) {
  return k < k4 ? 8 * (k >> 2) + 2 * j + ((k & 1) ? 4 : 0) + ((k & 2) ? 1 : 0) : 2 * k + j;
}
static void gather(const tcnn_op_args *a, int32_t n, int32_t oy, int32_t ox, int16_t *col, int32_t j) {
  const int8_t *x = a->in[0];
  const tcnn_shape4 is = a->in_shape[0];
  const int32_t kh = a->in_shape[1].h, kw = a->in_shape[1].w, cin = a->in_shape[1].c;
  const int32_t sh = F(TCNN_CONV_2D_STRIDE), sw = F(TCNN_CONV_2D_STRIDE + 1);
  const int32_t dh = F(TCNN_CONV_2D_DILATION), dw = F(TCNN_CONV_2D_DILATION + 1);
  const int32_t pt = F(TCNN_CONV_2D_PAD), pl = F(TCNN_CONV_2D_PAD + 1);
  const int32_t in_off = F(TCNN_CONV_2D_INPUT_OFFSET);
  const int32_t k4 = (kh * kw * cin) & ~3;
  const int32_t off2 = (int32_t)(((uint32_t)(uint16_t)in_off << 16) | (uint16_t)in_off);
  int32_t k = 0;
  for (int32_t ky = 0; ky < kh; ky++) {
    const int32_t iy = oy * sh - pt + ky * dh;
    for (int32_t kx = 0; kx < kw; kx++, k += cin) {
      const int32_t ix = ox * sw - pl + kx * dw;
      const int inside = iy >= 0 && iy < is.h && ix >= 0 && ix < is.w;
      const int8_t *xp = inside ? x + IDX4(is, n, iy, ix, 0) : NULL;
      if ((cin & 3) == 0) {
        if (inside) { widen4(xp, col + 2 * k + 2 * j, cin, off2, 4, 8); continue; }
        for (int32_t i = 0; i < cin; i += 4) {
          memset(col + 2 * (k + i) + 2 * j, 0, 4);
          memset(col + 2 * (k + i) + 2 * j + 4, 0, 4);
        }
        continue;
      }
      for (int32_t ic = 0; ic < cin; ic++) col[colpos(k + ic, k4, j)] = inside ? (int16_t)(xp[ic] + in_off) : 0;
    }
  }
}

/* 2x2 tile: acc[p][c] += column p . weight row c over K values; the weights are widened once for
 * both columns, the columns (interleaved, see gather) once for both rows. Armv7E-M: 18
 * instructions per 16 MACs (LDR x2, LDRD x2, SXTB16 x4, SMLAD x8, CMP, BNE). */
static inline void tile(const int8_t *w0, const int8_t *w1, const int16_t *col, int32_t k_len, int32_t acc[2][2]) {
  const int32_t k4 = k_len & ~3;
  int32_t a00 = acc[0][0], a01 = acc[0][1], a10 = acc[1][0], a11 = acc[1][1];
  if (k4) {
    const int8_t *end = w0 + k4;
    const int8_t *p0 = w0, *p1 = w1;
    const int16_t *pc = col;
    int32_t wa, wb, x, y, z;
    __asm__ volatile(
        "1:\n\t"
        "ldr    %[wa], [%[p0]], #4\n\t"
        "ldr    %[wb], [%[p1]], #4\n\t"
        "ldrd   %[x], %[z], [%[pc]], #8\n\t"
        "sxtb16 %[y], %[wa]\n\t"
        "smlad  %[a00], %[y], %[x], %[a00]\n\t"
        "smlad  %[a10], %[y], %[z], %[a10]\n\t"
        "sxtb16 %[y], %[wb]\n\t"
        "smlad  %[a01], %[y], %[x], %[a01]\n\t"
        "smlad  %[a11], %[y], %[z], %[a11]\n\t"
        "ldrd   %[x], %[z], [%[pc]], #8\n\t"
        "sxtb16 %[y], %[wa], ror #8\n\t"
        "smlad  %[a00], %[y], %[x], %[a00]\n\t"
        "smlad  %[a10], %[y], %[z], %[a10]\n\t"
        "sxtb16 %[y], %[wb], ror #8\n\t"
        "smlad  %[a01], %[y], %[x], %[a01]\n\t"
        "smlad  %[a11], %[y], %[z], %[a11]\n\t"
        "cmp    %[p0], %[end]\n\t"
        "bne    1b\n\t"
        : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [p0] "+r"(p0), [p1] "+r"(p1),
          [pc] "+r"(pc), [wa] "=&r"(wa), [wb] "=&r"(wb), [x] "=&r"(x), [y] "=&r"(y), [z] "=&r"(z)
        : [end] "r"(end)
        : "cc", "memory");
  }
  for (int32_t k = k4; k < k_len; k++) {
    const int32_t c0 = col[2 * k], c1 = col[2 * k + 1];
    a00 = tcnn_add32(a00, w0[k] * c0); a10 = tcnn_add32(a10, w0[k] * c1);
    a01 = tcnn_add32(a01, w1[k] * c0); a11 = tcnn_add32(a11, w1[k] * c1);
  }
  acc[0][0] = a00; acc[0][1] = a01; acc[1][0] = a10; acc[1][1] = a11;
}

/* 1x2 tile (fully connected): one column, two weight rows */
static inline void tile1(const int8_t *w0, const int8_t *w1, const int16_t *c0, int32_t k_len, int32_t acc[2]) {
  const int32_t k4 = k_len & ~3;
  int32_t a0 = acc[0], a1 = acc[1];
  int32_t k = 0;
  for (; k < k4; k += 4) {
    int32_t ce, co;
    memcpy(&ce, c0 + k, 4);
    memcpy(&co, c0 + k + 2, 4);
    const int32_t wa = read_s8x4(w0 + k), wb = read_s8x4(w1 + k);
    a0 = __smlad(__sxtb16(wa), ce, a0); a0 = __smlad(sxtb16_ror8(wa), co, a0);
    a1 = __smlad(__sxtb16(wb), ce, a1); a1 = __smlad(sxtb16_ror8(wb), co, a1);
  }
  for (; k < k_len; k++) { a0 = tcnn_add32(a0, w0[k] * c0[k]); a1 = tcnn_add32(a1, w1[k] * c0[k]); }
  acc[0] = a0; acc[1] = a1;
}

int tcnn_conv_s8_dsp(const tcnn_op_args *a, int16_t *scratch) {
  const int8_t *w = a->in[1];
  const int32_t *bias = a->in[2];
  int8_t *out = a->out;
  const tcnn_shape4 os = a->out_shape;
  const int32_t cout = a->in_shape[1].n, k_len = a->in_shape[1].h * a->in_shape[1].w * a->in_shape[1].c;
  const int32_t out_off = F(TCNN_CONV_2D_OUTPUT_OFFSET), lo = F(TCNN_CONV_2D_ACT_MIN), hi = F(TCNN_CONV_2D_ACT_MAX);
  const int32_t *mult = a->arr[0], *shift = a->arr[1];
  const int32_t pixels = os.n * os.h * os.w;
  for (int32_t p = 0; p < pixels; p += 2) {
    const int two = p + 1 < pixels;
    const int32_t q = two ? p + 1 : p;
    gather(a, p / (os.h * os.w), (p / os.w) % os.h, p % os.w, scratch, 0);
    gather(a, q / (os.h * os.w), (q / os.w) % os.h, q % os.w, scratch, 1);
    int8_t *o0 = out + (size_t)p * cout, *o1 = o0 + cout;
    for (int32_t oc = 0; oc < cout; oc += 2) {
      const int pair = oc + 1 < cout;
      const int32_t oc1 = pair ? oc + 1 : oc;
      const int32_t b0 = bias ? bias[oc] : 0, b1 = bias ? bias[oc1] : 0;
      int32_t acc[2][2] = {{b0, b1}, {b0, b1}};
      tile(w + (size_t)oc * k_len, w + (size_t)oc1 * k_len, scratch, k_len, acc);
      const int32_t m0 = mult[oc], s0 = shift[oc], m1 = mult[oc1], s1 = shift[oc1];
      o0[oc] = rq_out(acc[0][0], m0, s0, out_off, lo, hi);
      if (two) o1[oc] = rq_out(acc[1][0], m0, s0, out_off, lo, hi);
      if (pair) {
        o0[oc1] = rq_out(acc[0][1], m1, s1, out_off, lo, hi);
        if (two) o1[oc1] = rq_out(acc[1][1], m1, s1, out_off, lo, hi);
      }
    }
  }
  return 0;
}

int tcnn_fc_s8_dsp(const tcnn_op_args *a, int16_t *scratch) {
  const int8_t *x = a->in[0], *w = a->in[1];
  const int32_t *bias = a->in[2];
  int8_t *out = a->out;
  const int32_t cout = a->out_shape.c, k_len = a->in_shape[1].c, k4 = k_len & ~3;
  const int32_t in_off = F(TCNN_FULLY_CONNECTED_INPUT_OFFSET);
  const int32_t out_off = F(TCNN_FULLY_CONNECTED_OUTPUT_OFFSET);
  const int32_t lo = F(TCNN_FULLY_CONNECTED_ACT_MIN), hi = F(TCNN_FULLY_CONNECTED_ACT_MAX);
  const int32_t *mult = a->arr[0], *shift = a->arr[1];
  const int32_t off2 = (int32_t)(((uint32_t)(uint16_t)in_off << 16) | (uint16_t)in_off);
  for (int32_t n = 0; n < a->out_shape.n; n++) {
    const int8_t *xr = x + (size_t)n * k_len;
    widen4(xr, scratch, k4, off2, 2, 4);
    for (int32_t k = k4; k < k_len; k++) scratch[k] = (int16_t)(xr[k] + in_off);
    int8_t *o = out + (size_t)n * cout;
    for (int32_t oc = 0; oc < cout; oc += 2) {
      const int pair = oc + 1 < cout;
      const int32_t oc1 = pair ? oc + 1 : oc;
      int32_t acc[2] = {bias ? bias[oc] : 0, bias ? bias[oc1] : 0};
      tile1(w + (size_t)oc * k_len, w + (size_t)oc1 * k_len, scratch, k_len, acc);
      o[oc] = rq_out(acc[0], mult[oc], shift[oc], out_off, lo, hi);
      if (pair) o[oc1] = rq_out(acc[1], mult[oc1], shift[oc1], out_off, lo, hi);
    }
  }
  return 0;
}

/* one kernel tap of four channels: x + in_off (SXTAB16) times w (SXTB16), four 16x16 MACs */
#define DW_TAP(xp_, wp_)                                                               \
  do {                                                                                 \
    const int32_t xv_ = read_s8x4(xp_), wv_ = read_s8x4(wp_);                          \
    const int32_t xe_ = __sxtab16(off2, xv_), xo_ = sxtab16_ror8(off2, xv_);           \
    const int32_t we_ = __sxtb16(wv_), wo_ = sxtb16_ror8(wv_);                         \
    a0 = __smlabb(xe_, we_, a0); a2 = __smlatt(xe_, we_, a2);                          \
    a1 = __smlabb(xo_, wo_, a1); a3 = __smlatt(xo_, wo_, a3);                          \
  } while (0)

int tcnn_depthwise_s8_dsp(const tcnn_op_args *a) {
  const int8_t *x = a->in[0], *w = a->in[1];
  const int32_t *bias = a->in[2];
  int8_t *out = a->out;
  const tcnn_shape4 is = a->in_shape[0], os = a->out_shape;
  const int32_t kh = a->in_shape[1].h, kw = a->in_shape[1].w, c_n = a->in_shape[1].c, c4 = c_n & ~3;
  const int32_t sh = F(TCNN_DEPTHWISE_CONV_2D_STRIDE), sw = F(TCNN_DEPTHWISE_CONV_2D_STRIDE + 1);
  const int32_t dh = F(TCNN_DEPTHWISE_CONV_2D_DILATION), dw = F(TCNN_DEPTHWISE_CONV_2D_DILATION + 1);
  const int32_t pt = F(TCNN_DEPTHWISE_CONV_2D_PAD), pl = F(TCNN_DEPTHWISE_CONV_2D_PAD + 1);
  const int32_t in_off = F(TCNN_DEPTHWISE_CONV_2D_INPUT_OFFSET), out_off = F(TCNN_DEPTHWISE_CONV_2D_OUTPUT_OFFSET);
  const int32_t lo = F(TCNN_DEPTHWISE_CONV_2D_ACT_MIN), hi = F(TCNN_DEPTHWISE_CONV_2D_ACT_MAX);
  const int32_t *mult = a->arr[0], *shift = a->arr[1];
  const int32_t off2 = (int32_t)(((uint32_t)(uint16_t)in_off << 16) | (uint16_t)in_off);
  const size_t row = (size_t)is.w * c_n, xstep = (size_t)dw * c_n, ystep = (size_t)dh * row;
  const size_t wx = (size_t)c_n, wy = (size_t)kw * c_n;
  for (int32_t n = 0; n < os.n; n++)
    for (int32_t oy = 0; oy < os.h; oy++) {
      /* the kernel rows inside the image: ky0 <= ky < ky1 */
      const int32_t iy0 = oy * sh - pt;
      int32_t ky0 = 0, ky1 = kh;
      while (ky0 < kh && iy0 + ky0 * dh < 0) ky0++;
      while (ky1 > ky0 && iy0 + (ky1 - 1) * dh >= is.h) ky1--;
      for (int32_t ox = 0; ox < os.w; ox++) {
        const int32_t ix0 = ox * sw - pl;
        int32_t kx0 = 0, kx1 = kw;
        while (kx0 < kw && ix0 + kx0 * dw < 0) kx0++;
        while (kx1 > kx0 && ix0 + (kx1 - 1) * dw >= is.w) kx1--;
        int8_t *op = out + IDX4(os, n, oy, ox, 0);
        const int8_t *xbase = x + ((size_t)n * is.h * is.w) * c_n +
                              (int32_t)((iy0 + ky0 * dh) * (int32_t)row) + (ix0 + kx0 * dw) * c_n;
        const int8_t *wbase = w + (size_t)ky0 * wy + (size_t)kx0 * wx;
        const int32_t nky = ky1 - ky0, nkx = kx1 - kx0;
        int32_t c = 0;
        for (; c < c4; c += 4) {
          int32_t a0 = bias ? bias[c] : 0, a1 = bias ? bias[c + 1] : 0;
          int32_t a2 = bias ? bias[c + 2] : 0, a3 = bias ? bias[c + 3] : 0;
          const int8_t *xr = xbase + c, *wr = wbase + c;
          if (nkx == 3 && kw == 3) {  /* full 3-wide rows: the three taps unrolled */
            for (int32_t ky = 0; ky < nky; ky++, xr += ystep, wr += wy) {
              DW_TAP(xr, wr); DW_TAP(xr + xstep, wr + wx); DW_TAP(xr + 2 * xstep, wr + 2 * wx);
            }
          } else
          for (int32_t ky = 0; ky < nky; ky++, xr += ystep, wr += wy) {
            const int8_t *xp = xr, *wp = wr;
            for (int32_t kx = 0; kx < nkx; kx++, xp += xstep, wp += wx) DW_TAP(xp, wp);
          }
          op[c] = rq_out(a0, mult[c], shift[c], out_off, lo, hi);
          op[c + 1] = rq_out(a1, mult[c + 1], shift[c + 1], out_off, lo, hi);
          op[c + 2] = rq_out(a2, mult[c + 2], shift[c + 2], out_off, lo, hi);
          op[c + 3] = rq_out(a3, mult[c + 3], shift[c + 3], out_off, lo, hi);
        }
        for (; c < c_n; c++) {
          int32_t acc = bias ? bias[c] : 0;
          const int8_t *xr = xbase + c, *wr = wbase + c;
          for (int32_t ky = 0; ky < nky; ky++, xr += ystep, wr += wy)
            for (int32_t kx = 0; kx < nkx; kx++)
              acc = tcnn_add32(acc, ((int32_t)xr[kx * xstep] + in_off) * wr[kx * wx]);
          op[c] = rq_out(acc, mult[c], shift[c], out_off, lo, hi);
        }
      }
    }
  return 0;
}
#else
typedef int tcnn_no_dsp;  /* ISO C: a translation unit is not empty */
#endif
