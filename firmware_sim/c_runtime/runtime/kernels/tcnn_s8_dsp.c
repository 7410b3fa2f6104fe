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

/* one im2col column: K values (x + in_off, 0 in the padding), groups of four reordered */
static void gather(const tcnn_op_args *a, int32_t n, int32_t oy, int32_t ox, int16_t *col) {
  const int8_t *x = a->in[0];
  const tcnn_shape4 is = a->in_shape[0];
  const int32_t kh = a->in_shape[1].h, kw = a->in_shape[1].w, cin = a->in_shape[1].c;
  const int32_t sh = F(TCNN_CONV_2D_STRIDE), sw = F(TCNN_CONV_2D_STRIDE + 1);
  const int32_t dh = F(TCNN_CONV_2D_DILATION), dw = F(TCNN_CONV_2D_DILATION + 1);
  const int32_t pt = F(TCNN_CONV_2D_PAD), pl = F(TCNN_CONV_2D_PAD + 1);
  const int16_t in_off = (int16_t)F(TCNN_CONV_2D_INPUT_OFFSET);
  const int32_t k_len = kh * kw * cin, k4 = k_len & ~3;
  int32_t k = 0;
  for (int32_t ky = 0; ky < kh; ky++) {
    const int32_t iy = oy * sh - pt + ky * dh;
    for (int32_t kx = 0; kx < kw; kx++) {
      const int32_t ix = ox * sw - pl + kx * dw;
      const int inside = iy >= 0 && iy < is.h && ix >= 0 && ix < is.w;
      const int8_t *xp = inside ? x + IDX4(is, n, iy, ix, 0) : NULL;
      for (int32_t ic = 0; ic < cin; ic++, k++) {
        const int16_t v = inside ? (int16_t)(xp[ic] + in_off) : 0;
        /* position of element k: within a block of four, order 0, 2, 1, 3 */
        const int32_t j = k & 3;
        col[k < k4 ? (k & ~3) + (j == 1 ? 2 : j == 2 ? 1 : j) : k] = v;
      }
    }
  }
}

static inline int8_t requant(int32_t acc, int32_t mult, int32_t shift, int32_t out_off, int32_t lo, int32_t hi) {
  return (int8_t)tcnn_clamp(tcnn_mbqm(acc, mult, shift) + out_off, lo, hi);
}

/* acc[p][c] over one or two columns and one or two weight rows */
static void tile(const int8_t *w0, const int8_t *w1, const int16_t *c0, const int16_t *c1, int32_t k_len,
                 int32_t acc[2][2]) {
  const int32_t k4 = k_len & ~3;
  int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
  int32_t k = 0;
  for (; k < k4; k += 4) {
    int32_t c0e, c0o, c1e, c1o;
    memcpy(&c0e, c0 + k, 4);
    memcpy(&c0o, c0 + k + 2, 4);
    memcpy(&c1e, c1 + k, 4);
    memcpy(&c1o, c1 + k + 2, 4);
    const int32_t wa = read_s8x4(w0 + k), wb = read_s8x4(w1 + k);
    const int32_t wae = __sxtb16(wa), wao = sxtb16_ror8(wa), wbe = __sxtb16(wb), wbo = sxtb16_ror8(wb);
    a00 = __smlad(wae, c0e, a00); a00 = __smlad(wao, c0o, a00);
    a10 = __smlad(wae, c1e, a10); a10 = __smlad(wao, c1o, a10);
    a01 = __smlad(wbe, c0e, a01); a01 = __smlad(wbo, c0o, a01);
    a11 = __smlad(wbe, c1e, a11); a11 = __smlad(wbo, c1o, a11);
  }
  for (; k < k_len; k++) {
    a00 = tcnn_add32(a00, w0[k] * c0[k]); a10 = tcnn_add32(a10, w0[k] * c1[k]);
    a01 = tcnn_add32(a01, w1[k] * c0[k]); a11 = tcnn_add32(a11, w1[k] * c1[k]);
  }
  acc[0][0] = a00; acc[0][1] = a01; acc[1][0] = a10; acc[1][1] = a11;
}

int tcnn_conv_s8_dsp(const tcnn_op_args *a, int16_t *scratch) {
  const int8_t *w = a->in[1];
  const int32_t *bias = a->in[2];
  int8_t *out = a->out;
  const tcnn_shape4 os = a->out_shape;
  const int32_t cout = a->in_shape[1].n, k_len = a->in_shape[1].h * a->in_shape[1].w * a->in_shape[1].c;
  const int32_t out_off = F(TCNN_CONV_2D_OUTPUT_OFFSET), lo = F(TCNN_CONV_2D_ACT_MIN), hi = F(TCNN_CONV_2D_ACT_MAX);
  const int32_t *mult = a->arr[0], *shift = a->arr[1];
  int16_t *col0 = scratch, *col1 = scratch + k_len;
  const int32_t pixels = os.n * os.h * os.w;
  for (int32_t p = 0; p < pixels; p += 2) {
    const int two = p + 1 < pixels;
    gather(a, p / (os.h * os.w), (p / os.w) % os.h, p % os.w, col0);
    if (two) gather(a, (p + 1) / (os.h * os.w), ((p + 1) / os.w) % os.h, (p + 1) % os.w, col1);
    else memcpy(col1, col0, (size_t)k_len * 2);
    int8_t *o0 = out + (size_t)p * cout, *o1 = o0 + cout;
    for (int32_t oc = 0; oc < cout; oc += 2) {
      const int pair = oc + 1 < cout;
      int32_t acc[2][2];
      tile(w + (size_t)oc * k_len, w + (size_t)(pair ? oc + 1 : oc) * k_len, col0, col1, k_len, acc);
      for (int32_t j = 0; j < 1 + pair; j++) {
        const int32_t b = bias ? bias[oc + j] : 0;
        o0[oc + j] = requant(tcnn_add32(acc[0][j], b), mult[oc + j], shift[oc + j], out_off, lo, hi);
        if (two) o1[oc + j] = requant(tcnn_add32(acc[1][j], b), mult[oc + j], shift[oc + j], out_off, lo, hi);
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
  const int16_t in_off = (int16_t)F(TCNN_FULLY_CONNECTED_INPUT_OFFSET);
  const int32_t out_off = F(TCNN_FULLY_CONNECTED_OUTPUT_OFFSET);
  const int32_t lo = F(TCNN_FULLY_CONNECTED_ACT_MIN), hi = F(TCNN_FULLY_CONNECTED_ACT_MAX);
  const int32_t *mult = a->arr[0], *shift = a->arr[1];
  for (int32_t n = 0; n < a->out_shape.n; n++) {
    const int8_t *xr = x + (size_t)n * k_len;
    for (int32_t k = 0; k < k_len; k++) {
      const int32_t j = k & 3;
      scratch[k < k4 ? (k & ~3) + (j == 1 ? 2 : j == 2 ? 1 : j) : k] = (int16_t)(xr[k] + in_off);
    }
    for (int32_t oc = 0; oc < cout; oc += 2) {
      const int pair = oc + 1 < cout;
      int32_t acc[2][2];
      tile(w + (size_t)oc * k_len, w + (size_t)(pair ? oc + 1 : oc) * k_len, scratch, scratch, k_len, acc);
      for (int32_t j = 0; j < 1 + pair; j++)
        out[(size_t)n * cout + oc + j] = requant(tcnn_add32(acc[0][j], bias ? bias[oc + j] : 0), mult[oc + j], shift[oc + j],
                                                 out_off, lo, hi);
    }
  }
  return 0;
}

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
  for (int32_t n = 0; n < os.n; n++)
    for (int32_t oy = 0; oy < os.h; oy++)
      for (int32_t ox = 0; ox < os.w; ox++) {
        int8_t *op = out + IDX4(os, n, oy, ox, 0);
        int32_t c = 0;
        for (; c < c4; c += 4) {
          int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
          for (int32_t ky = 0; ky < kh; ky++) {
            const int32_t iy = oy * sh - pt + ky * dh;
            if (iy < 0 || iy >= is.h) continue;
            for (int32_t kx = 0; kx < kw; kx++) {
              const int32_t ix = ox * sw - pl + kx * dw;
              if (ix < 0 || ix >= is.w) continue;
              const int32_t xv = read_s8x4(x + IDX4(is, n, iy, ix, c));
              const int32_t wv = read_s8x4(w + ((size_t)ky * kw + kx) * c_n + c);
              const int32_t xe = __sxtab16(off2, xv), xo = sxtab16_ror8(off2, xv);
              const int32_t we = __sxtb16(wv), wo = sxtb16_ror8(wv);
              a0 = __smlabb(xe, we, a0); a2 = __smlatt(xe, we, a2);
              a1 = __smlabb(xo, wo, a1); a3 = __smlatt(xo, wo, a3);
            }
          }
          const int32_t acc[4] = {a0, a1, a2, a3};
          for (int j = 0; j < 4; j++)
            op[c + j] = requant(tcnn_add32(acc[j], bias ? bias[c + j] : 0), mult[c + j], shift[c + j], out_off, lo, hi);
        }
        for (; c < c_n; c++) {
          int32_t acc = 0;
          for (int32_t ky = 0; ky < kh; ky++) {
            const int32_t iy = oy * sh - pt + ky * dh;
            if (iy < 0 || iy >= is.h) continue;
            for (int32_t kx = 0; kx < kw; kx++) {
              const int32_t ix = ox * sw - pl + kx * dw;
              if (ix < 0 || ix >= is.w) continue;
              acc = tcnn_add32(acc, ((int32_t)x[IDX4(is, n, iy, ix, c)] + in_off) * w[((size_t)ky * kw + kx) * c_n + c]);
            }
          }
          op[c] = requant(tcnn_add32(acc, bias ? bias[c] : 0), mult[c], shift[c], out_off, lo, hi);
        }
      }
  return 0;
}
#else
typedef int tcnn_no_dsp;  /* ISO C: a translation unit is not empty */
#endif
