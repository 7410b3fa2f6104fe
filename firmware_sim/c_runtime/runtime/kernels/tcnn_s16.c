/* Portable 16x8 kernels (int16 activations, zero point 0, int8 weights, int64 bias): int64
 * accumulation and TFLite's int64 MultiplyByQuantizedMultiplier, as tinycnn/kernels/int16.py. */
#include "../tcnn_internal.h"

#define F(name) (a->f[name])
#define IDX4(S, N_, Y_, X_, C_) ((((size_t)(N_) * (S).h + (Y_)) * (S).w + (X_)) * (S).c + (C_))

int tcnn_conv_s16(const tcnn_op_args *a) {
  const int16_t *x = a->in[0];
  const int8_t *w = a->in[1];
  const void *bias = a->in[2];
  int16_t *out = a->out;
  const tcnn_shape4 is = a->in_shape[0], os = a->out_shape;
  const int32_t cout = a->in_shape[1].n, kh = a->in_shape[1].h, kw = a->in_shape[1].w, cig = a->in_shape[1].c;
  const int32_t sh = F(TCNN_CONV_2D_STRIDE), sw = F(TCNN_CONV_2D_STRIDE + 1);
  const int32_t dh = F(TCNN_CONV_2D_DILATION), dw = F(TCNN_CONV_2D_DILATION + 1);
  const int32_t pt = F(TCNN_CONV_2D_PAD), pl = F(TCNN_CONV_2D_PAD + 1);
  const int32_t groups = F(TCNN_CONV_2D_GROUPS), in_off = F(TCNN_CONV_2D_INPUT_OFFSET);
  (void)in_off;  /* 16x8: the input zero point is 0 (checked at init) */
  const int32_t out_off = F(TCNN_CONV_2D_OUTPUT_OFFSET), lo = F(TCNN_CONV_2D_ACT_MIN), hi = F(TCNN_CONV_2D_ACT_MAX);
  const int32_t *mult = (const int32_t *)a->arr[0], *shift = (const int32_t *)a->arr[1];
  const int32_t cog = cout / groups;
  for (int32_t n = 0; n < os.n; n++)
    for (int32_t oy = 0; oy < os.h; oy++)
      for (int32_t ox = 0; ox < os.w; ox++)
        for (int32_t oc = 0; oc < cout; oc++) {
          const int32_t g = oc / cog;
          int64_t acc = 0;
          for (int32_t ky = 0; ky < kh; ky++) {
            const int32_t iy = oy * sh - pt + ky * dh;
            if (iy < 0 || iy >= is.h) continue;
            for (int32_t kx = 0; kx < kw; kx++) {
              const int32_t ix = ox * sw - pl + kx * dw;
              if (ix < 0 || ix >= is.w) continue;
              const int16_t *xp = x + IDX4(is, n, iy, ix, g * cig);
              const int8_t *wp = w + (((size_t)oc * kh + ky) * kw + kx) * cig;
              for (int32_t ic = 0; ic < cig; ic++) acc += (int64_t)xp[ic] * wp[ic];
            }
          }
          if (bias) acc += tcnn_ld(bias, a->in_dtype[2], (size_t)oc);
          out[IDX4(os, n, oy, ox, oc)] = (int16_t)tcnn_clamp(tcnn_mbqm_int64(acc, mult[oc], shift[oc]) + out_off, lo, hi);
        }
  return 0;
}

int tcnn_depthwise_s16(const tcnn_op_args *a) {
  const int16_t *x = a->in[0];
  const int8_t *w = a->in[1];
  const void *bias = a->in[2];
  int16_t *out = a->out;
  const tcnn_shape4 is = a->in_shape[0], os = a->out_shape;
  /* weights [KH, KW, Cout] are seen as shape4 {1, KH, KW, Cout} */
  const int32_t kh = a->in_shape[1].h, kw = a->in_shape[1].w, cout = a->in_shape[1].c;
  const int32_t sh = F(TCNN_DEPTHWISE_CONV_2D_STRIDE), sw = F(TCNN_DEPTHWISE_CONV_2D_STRIDE + 1);
  const int32_t dh = F(TCNN_DEPTHWISE_CONV_2D_DILATION), dw = F(TCNN_DEPTHWISE_CONV_2D_DILATION + 1);
  const int32_t pt = F(TCNN_DEPTHWISE_CONV_2D_PAD), pl = F(TCNN_DEPTHWISE_CONV_2D_PAD + 1);
  const int32_t dm = F(TCNN_DEPTHWISE_CONV_2D_DEPTH_MULTIPLIER), in_off = F(TCNN_DEPTHWISE_CONV_2D_INPUT_OFFSET);
  (void)in_off;  /* 16x8: the input zero point is 0 (checked at init) */
  const int32_t out_off = F(TCNN_DEPTHWISE_CONV_2D_OUTPUT_OFFSET);
  const int32_t lo = F(TCNN_DEPTHWISE_CONV_2D_ACT_MIN), hi = F(TCNN_DEPTHWISE_CONV_2D_ACT_MAX);
  const int32_t *mult = (const int32_t *)a->arr[0], *shift = (const int32_t *)a->arr[1];
  for (int32_t n = 0; n < os.n; n++)
    for (int32_t oy = 0; oy < os.h; oy++)
      for (int32_t ox = 0; ox < os.w; ox++)
        for (int32_t oc = 0; oc < cout; oc++) {
          const int32_t ic = oc / dm;
          int64_t acc = 0;
          for (int32_t ky = 0; ky < kh; ky++) {
            const int32_t iy = oy * sh - pt + ky * dh;
            if (iy < 0 || iy >= is.h) continue;
            for (int32_t kx = 0; kx < kw; kx++) {
              const int32_t ix = ox * sw - pl + kx * dw;
              if (ix < 0 || ix >= is.w) continue;
              acc += (int64_t)x[IDX4(is, n, iy, ix, ic)] * w[((size_t)ky * kw + kx) * cout + oc];
            }
          }
          if (bias) acc += tcnn_ld(bias, a->in_dtype[2], (size_t)oc);
          out[IDX4(os, n, oy, ox, oc)] = (int16_t)tcnn_clamp(tcnn_mbqm_int64(acc, mult[oc], shift[oc]) + out_off, lo, hi);
        }
  return 0;
}

int tcnn_fc_s16(const tcnn_op_args *a) {
  const int16_t *x = a->in[0];
  const int8_t *w = a->in[1];
  const void *bias = a->in[2];
  int16_t *out = a->out;
  const int32_t cout = a->out_shape.c;  /* weights [Cout, K] as {1, 1, Cout, K} */
  const int32_t batch = a->out_shape.n;
  const int32_t in_off = F(TCNN_FULLY_CONNECTED_INPUT_OFFSET), out_off = F(TCNN_FULLY_CONNECTED_OUTPUT_OFFSET);
  (void)in_off;  /* 16x8: the input zero point is 0 (checked at init) */
  const int32_t lo = F(TCNN_FULLY_CONNECTED_ACT_MIN), hi = F(TCNN_FULLY_CONNECTED_ACT_MAX);
  const int32_t *mult = (const int32_t *)a->arr[0], *shift = (const int32_t *)a->arr[1];
  const int32_t k_in = a->in_shape[1].c;
  for (int32_t n = 0; n < batch; n++)
    for (int32_t oc = 0; oc < cout; oc++) {
      const int16_t *xp = x + (size_t)n * k_in;
      const int8_t *wp = w + (size_t)oc * k_in;
      int64_t acc = 0;
      for (int32_t k = 0; k < k_in; k++) acc += (int64_t)xp[k] * wp[k];
      if (bias) acc += tcnn_ld(bias, a->in_dtype[2], (size_t)oc);
      out[(size_t)n * cout + oc] = (int16_t)tcnn_clamp(tcnn_mbqm_int64(acc, mult[oc], shift[oc]) + out_off, lo, hi);
    }
  return 0;
}

