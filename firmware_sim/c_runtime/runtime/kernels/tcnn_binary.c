/* 1-bit kernels on packed sign words (bit 1 = -1, channel c at bit c % 32 of word c / 32, unused bits
 * 0; docs/binary.md): dot = K - 2 popcount(x XOR w), packed output bit = dot < threshold, or the
 * integer int8 output affine. As tinycnn/kernels/bconv.py; no floating point. */
#include "../tcnn_internal.h"

#define F(name) (a->f[name])
#define IDX4(S, N_, Y_, X_, C_) ((((size_t)(N_) * (S).h + (Y_)) * (S).w + (X_)) * (S).c + (C_))

static int32_t popcount32(uint32_t v) {
#if defined(__GNUC__)
  return __builtin_popcount(v);
#else
  v = v - ((v >> 1) & 0x55555555u);
  v = (v & 0x33333333u) + ((v >> 2) & 0x33333333u);
  return (int32_t)((((v + (v >> 4)) & 0x0F0F0F0Fu) * 0x01010101u) >> 24);
#endif
}

/* store one pixel's dots: packed words (threshold) or int8 (integer output affine) */
/* delta: word offset of the op's binary fields relative to the BINARY_FULLY_CONNECTED layout */
static void store(const tcnn_op_args *a, int32_t delta, int32_t mode, int32_t cout, const int32_t *dots,
                  void *out, size_t pixel) {
  const int32_t *f = a->f + delta;
  if (mode == TCNN_OUTPUT_MODE_PACKED) {
    const int32_t nw = (cout + 31) / 32;
    uint32_t *o = (uint32_t *)out + pixel * (size_t)nw;
    for (int32_t k = 0; k < nw; k++) {
      uint32_t word = 0;
      for (int32_t j = 0; j < 32 && k * 32 + j < cout; j++)
        word |= (uint32_t)(dots[k * 32 + j] < tcnn_ld(a->arr[0], a->arr_dtype[0], (size_t)(k * 32 + j))) << j;
      o[k] = word;
    }
    return;
  }
  int8_t *o = (int8_t *)out + pixel * (size_t)cout;
  const int32_t *mult = a->arr[1], *bias_q = a->arr[3];
  for (int32_t oc = 0; oc < cout; oc++) {
    const int64_t acc = (int64_t)dots[oc] * ((int64_t)1 << f[TCNN_BINARY_FULLY_CONNECTED_DOT_SHIFT]) + bias_q[oc];
    const int32_t shift = (int32_t)tcnn_ld(a->arr[2], a->arr_dtype[2], (size_t)oc);
    const int64_t v = tcnn_mbqm(acc, mult[oc], shift) + f[TCNN_BINARY_FULLY_CONNECTED_OUTPUT_ZERO_POINT];
    o[oc] = (int8_t)tcnn_clamp(v, f[TCNN_BINARY_FULLY_CONNECTED_ACT_MIN], f[TCNN_BINARY_FULLY_CONNECTED_ACT_MAX]);
  }
}

#define MAX_COUT 4096

int tcnn_binary_conv(const tcnn_op_args *a) {
  const uint32_t *x = a->in[0], *w = a->in[1];
  const tcnn_shape4 is = a->in_shape[0], os = a->out_shape;
  const int32_t cout = a->in_shape[1].n, kh = a->in_shape[1].h, kw = a->in_shape[1].w, nw = a->in_shape[1].c;
  const int32_t cin = F(TCNN_BINARY_CONV_2D_IN_CHANNELS), mode = F(TCNN_BINARY_CONV_2D_OUTPUT_MODE);
  const int one_pad = F(TCNN_BINARY_CONV_2D_PAD_MODE) == TCNN_PAD_MODE_ONE;
  const int32_t sh = F(TCNN_BINARY_CONV_2D_STRIDE), sw = F(TCNN_BINARY_CONV_2D_STRIDE + 1);
  const int32_t dh = F(TCNN_BINARY_CONV_2D_DILATION), dw = F(TCNN_BINARY_CONV_2D_DILATION + 1);
  const int32_t pt = F(TCNN_BINARY_CONV_2D_PAD), pl = F(TCNN_BINARY_CONV_2D_PAD + 1);
  int32_t dots[MAX_COUT];
  for (int32_t n = 0; n < os.n; n++)
    for (int32_t oy = 0; oy < os.h; oy++)
      for (int32_t ox = 0; ox < os.w; ox++) {
        for (int32_t oc = 0; oc < cout; oc++) {
          int32_t dot = 0;
          for (int32_t ky = 0; ky < kh; ky++) {
            const int32_t iy = oy * sh - pt + ky * dh;
            for (int32_t kx = 0; kx < kw; kx++) {
              const int32_t ix = ox * sw - pl + kx * dw;
              const uint32_t *wp = w + (((size_t)oc * kh + ky) * kw + kx) * nw;
              const int inside = iy >= 0 && iy < is.h && ix >= 0 && ix < is.w;
              if (!inside && !one_pad) continue;  /* zero padding: the tap contributes 0 */
              int32_t pc = 0;
              for (int32_t j = 0; j < nw; j++) pc += popcount32((inside ? x[IDX4(is, n, iy, ix, j)] : 0u) ^ wp[j]);
              dot += cin - 2 * pc;
            }
          }
          dots[oc] = dot;
        }
        store(a, TCNN_BINARY_CONV_2D_IN_CHANNELS - TCNN_BINARY_FULLY_CONNECTED_IN_CHANNELS, mode, cout, dots, a->out,
              ((size_t)n * os.h + oy) * os.w + ox);
      }
  return 0;
}

int tcnn_binary_fc(const tcnn_op_args *a) {
  const uint32_t *x = a->in[0], *w = a->in[1];
  const int32_t cout = a->in_shape[1].w, n_words = a->in_shape[1].c;  /* weights [Cout, words] as {1,1,Cout,words} */
  const int32_t k_bits = F(TCNN_BINARY_FULLY_CONNECTED_IN_PIXELS) * F(TCNN_BINARY_FULLY_CONNECTED_IN_CHANNELS);
  int32_t dots[MAX_COUT];
  for (int32_t n = 0; n < a->out_shape.n; n++) {
    for (int32_t oc = 0; oc < cout; oc++) {
      int32_t pc = 0;
      for (int32_t j = 0; j < n_words; j++) pc += popcount32(x[(size_t)n * n_words + j] ^ w[(size_t)oc * n_words + j]);
      dots[oc] = k_bits - 2 * pc;
    }
    store(a, 0, F(TCNN_BINARY_FULLY_CONNECTED_OUTPUT_MODE), cout, dots, a->out, (size_t)n);
  }
  return 0;
}

int tcnn_binarize(const tcnn_op_args *a) {
  const int8_t *x = a->in[0];
  uint32_t *out = a->out;
  const int32_t c = a->in_shape[0].c, nw = a->out_shape.c, zp = F(TCNN_BINARIZE_INPUT_ZERO_POINT);
  const size_t pixels = (size_t)a->in_shape[0].n * a->in_shape[0].h * a->in_shape[0].w;
  for (size_t p = 0; p < pixels; p++)
    for (int32_t k = 0; k < nw; k++) {
      uint32_t word = 0;
      for (int32_t ch = k * 32; ch < c && ch < (k + 1) * 32; ch++)
        if ((int32_t)x[p * c + ch] < zp) word |= 1u << (ch - k * 32);
      out[p * nw + k] = word;
    }
  return 0;
}

int tcnn_binary_max_pool(const tcnn_op_args *a) {
  const uint32_t *x = a->in[0];
  uint32_t *out = a->out;
  const tcnn_shape4 is = a->in_shape[0], os = a->out_shape;
  const int32_t kh = F(TCNN_BINARY_MAX_POOL_2D_KERNEL), kw = F(TCNN_BINARY_MAX_POOL_2D_KERNEL + 1);
  const int32_t sh = F(TCNN_BINARY_MAX_POOL_2D_STRIDE), sw = F(TCNN_BINARY_MAX_POOL_2D_STRIDE + 1);
  const int32_t pt = F(TCNN_BINARY_MAX_POOL_2D_PAD), pl = F(TCNN_BINARY_MAX_POOL_2D_PAD + 1);
  const int32_t c = F(TCNN_BINARY_MAX_POOL_2D_CHANNELS);
  for (int32_t n = 0; n < os.n; n++)
    for (int32_t oy = 0; oy < os.h; oy++)
      for (int32_t ox = 0; ox < os.w; ox++)
        for (int32_t j = 0; j < os.c; j++) {
          uint32_t acc = (j == os.c - 1 && c % 32) ? ((1u << (c % 32)) - 1u) : 0xFFFFFFFFu;
          for (int32_t ky = 0; ky < kh; ky++) {
            const int32_t iy = oy * sh - pt + ky;
            if (iy < 0 || iy >= is.h) continue;
            for (int32_t kx = 0; kx < kw; kx++) {
              const int32_t ix = ox * sw - pl + kx;
              if (ix >= 0 && ix < is.w) acc &= x[IDX4(is, n, iy, ix, j)];
            }
          }
          out[IDX4(os, n, oy, ox, j)] = acc;
        }
  return 0;
}

/* CONV_2D whose only reader binarizes it: bit oc = (int64 accumulator < 0); x int8/int16, w int8/int16 */
int tcnn_conv_to_packed(const tcnn_op_args *a) {
  const tcnn_shape4 is = a->in_shape[0], os = a->out_shape;
  const int32_t cout = a->in_shape[1].n, kh = a->in_shape[1].h, kw = a->in_shape[1].w, cin = a->in_shape[1].c;
  const int32_t sh = F(TCNN_CONV_2D_STRIDE), sw = F(TCNN_CONV_2D_STRIDE + 1);
  const int32_t dh = F(TCNN_CONV_2D_DILATION), dw = F(TCNN_CONV_2D_DILATION + 1);
  const int32_t pt = F(TCNN_CONV_2D_PAD), pl = F(TCNN_CONV_2D_PAD + 1), in_off = F(TCNN_CONV_2D_INPUT_OFFSET);
  uint32_t *out = a->out;
  for (int32_t n = 0; n < os.n; n++)
    for (int32_t oy = 0; oy < os.h; oy++)
      for (int32_t ox = 0; ox < os.w; ox++)
        for (int32_t j = 0; j < os.c; j++) {
          uint32_t word = 0;
          for (int32_t oc = j * 32; oc < cout && oc < (j + 1) * 32; oc++) {
            int64_t acc = a->in[2] ? tcnn_ld(a->in[2], a->in_dtype[2], (size_t)oc) : 0;
            for (int32_t ky = 0; ky < kh; ky++) {
              const int32_t iy = oy * sh - pt + ky * dh;
              if (iy < 0 || iy >= is.h) continue;
              for (int32_t kx = 0; kx < kw; kx++) {
                const int32_t ix = ox * sw - pl + kx * dw;
                if (ix < 0 || ix >= is.w) continue;
                for (int32_t ic = 0; ic < cin; ic++)
                  acc += (tcnn_ld(a->in[0], a->in_dtype[0], IDX4(is, n, iy, ix, ic)) + in_off)
                         * tcnn_ld(a->in[1], a->in_dtype[1], (((size_t)oc * kh + ky) * kw + kx) * cin + ic);
              }
            }
            if (acc < 0) word |= 1u << (oc - j * 32);
          }
          out[IDX4(os, n, oy, ox, j)] = word;
        }
  return 0;
}
