/* Portable int8 kernels, bit-exact with tinycnn's Python runtime (and so with TFLite Micro's
 * reference kernels): int32 accumulation, TFLite fixed-point requantization. No floating point. */
#include "../tcnn_internal.h"

#define F(name) (a->f[name])
#define IDX4(S, N_, Y_, X_, C_) ((((size_t)(N_) * (S).h + (Y_)) * (S).w + (X_)) * (S).c + (C_))

int tcnn_conv_s8(const tcnn_op_args *a) {
  const int8_t *x = a->in[0], *w = a->in[1];
  const int32_t *bias = a->in[2];
  int8_t *out = a->out;
  const tcnn_shape4 is = a->in_shape[0], os = a->out_shape;
  const int32_t cout = a->in_shape[1].n, kh = a->in_shape[1].h, kw = a->in_shape[1].w, cig = a->in_shape[1].c;
  const int32_t sh = F(TCNN_CONV_2D_STRIDE), sw = F(TCNN_CONV_2D_STRIDE + 1);
  const int32_t dh = F(TCNN_CONV_2D_DILATION), dw = F(TCNN_CONV_2D_DILATION + 1);
  const int32_t pt = F(TCNN_CONV_2D_PAD), pl = F(TCNN_CONV_2D_PAD + 1);
  const int32_t groups = F(TCNN_CONV_2D_GROUPS), in_off = F(TCNN_CONV_2D_INPUT_OFFSET);
  const int32_t out_off = F(TCNN_CONV_2D_OUTPUT_OFFSET), lo = F(TCNN_CONV_2D_ACT_MIN), hi = F(TCNN_CONV_2D_ACT_MAX);
  const int32_t *mult = a->arr[0], *shift = a->arr[1];
  const int32_t cog = cout / groups;
  for (int32_t n = 0; n < os.n; n++)
    for (int32_t oy = 0; oy < os.h; oy++)
      for (int32_t ox = 0; ox < os.w; ox++)
        for (int32_t oc = 0; oc < cout; oc++) {
          const int32_t g = oc / cog;
          int32_t acc = 0;
          for (int32_t ky = 0; ky < kh; ky++) {
            const int32_t iy = oy * sh - pt + ky * dh;
            if (iy < 0 || iy >= is.h) continue;
            for (int32_t kx = 0; kx < kw; kx++) {
              const int32_t ix = ox * sw - pl + kx * dw;
              if (ix < 0 || ix >= is.w) continue;
              const int8_t *xp = x + IDX4(is, n, iy, ix, g * cig);
              const int8_t *wp = w + (((size_t)oc * kh + ky) * kw + kx) * cig;
              for (int32_t ic = 0; ic < cig; ic++) acc += ((int32_t)xp[ic] + in_off) * wp[ic];
            }
          }
          if (bias) acc += bias[oc];
          out[IDX4(os, n, oy, ox, oc)] = (int8_t)tcnn_clamp(tcnn_mbqm(acc, mult[oc], shift[oc]) + out_off, lo, hi);
        }
  return 0;
}

int tcnn_depthwise_s8(const tcnn_op_args *a) {
  const int8_t *x = a->in[0], *w = a->in[1];
  const int32_t *bias = a->in[2];
  int8_t *out = a->out;
  const tcnn_shape4 is = a->in_shape[0], os = a->out_shape;
  /* weights [KH, KW, Cout] are seen as shape4 {1, KH, KW, Cout} */
  const int32_t kh = a->in_shape[1].h, kw = a->in_shape[1].w, cout = a->in_shape[1].c;
  const int32_t sh = F(TCNN_DEPTHWISE_CONV_2D_STRIDE), sw = F(TCNN_DEPTHWISE_CONV_2D_STRIDE + 1);
  const int32_t dh = F(TCNN_DEPTHWISE_CONV_2D_DILATION), dw = F(TCNN_DEPTHWISE_CONV_2D_DILATION + 1);
  const int32_t pt = F(TCNN_DEPTHWISE_CONV_2D_PAD), pl = F(TCNN_DEPTHWISE_CONV_2D_PAD + 1);
  const int32_t dm = F(TCNN_DEPTHWISE_CONV_2D_DEPTH_MULTIPLIER), in_off = F(TCNN_DEPTHWISE_CONV_2D_INPUT_OFFSET);
  const int32_t out_off = F(TCNN_DEPTHWISE_CONV_2D_OUTPUT_OFFSET);
  const int32_t lo = F(TCNN_DEPTHWISE_CONV_2D_ACT_MIN), hi = F(TCNN_DEPTHWISE_CONV_2D_ACT_MAX);
  const int32_t *mult = a->arr[0], *shift = a->arr[1];
  for (int32_t n = 0; n < os.n; n++)
    for (int32_t oy = 0; oy < os.h; oy++)
      for (int32_t ox = 0; ox < os.w; ox++)
        for (int32_t oc = 0; oc < cout; oc++) {
          const int32_t ic = oc / dm;
          int32_t acc = 0;
          for (int32_t ky = 0; ky < kh; ky++) {
            const int32_t iy = oy * sh - pt + ky * dh;
            if (iy < 0 || iy >= is.h) continue;
            for (int32_t kx = 0; kx < kw; kx++) {
              const int32_t ix = ox * sw - pl + kx * dw;
              if (ix < 0 || ix >= is.w) continue;
              acc += ((int32_t)x[IDX4(is, n, iy, ix, ic)] + in_off) * w[((size_t)ky * kw + kx) * cout + oc];
            }
          }
          if (bias) acc += bias[oc];
          out[IDX4(os, n, oy, ox, oc)] = (int8_t)tcnn_clamp(tcnn_mbqm(acc, mult[oc], shift[oc]) + out_off, lo, hi);
        }
  return 0;
}

int tcnn_fc_s8(const tcnn_op_args *a) {
  const int8_t *x = a->in[0], *w = a->in[1];
  const int32_t *bias = a->in[2];
  int8_t *out = a->out;
  const int32_t cout = a->in_shape[1].c == 0 ? 0 : a->out_shape.c;
  const int32_t k_len = a->in_shape[1].w * a->in_shape[1].c;  /* weights [Cout, K] as {1, 1, Cout, K} */
  const int32_t batch = a->out_shape.n;
  const int32_t in_off = F(TCNN_FULLY_CONNECTED_INPUT_OFFSET), out_off = F(TCNN_FULLY_CONNECTED_OUTPUT_OFFSET);
  const int32_t lo = F(TCNN_FULLY_CONNECTED_ACT_MIN), hi = F(TCNN_FULLY_CONNECTED_ACT_MAX);
  const int32_t *mult = a->arr[0], *shift = a->arr[1];
  const int32_t k_in = a->in_shape[1].c;
  for (int32_t n = 0; n < batch; n++)
    for (int32_t oc = 0; oc < cout; oc++) {
      const int8_t *xp = x + (size_t)n * k_in, *wp = w + (size_t)oc * k_in;
      int32_t acc = 0;
      for (int32_t k = 0; k < k_in; k++) acc += ((int32_t)xp[k] + in_off) * wp[k];
      if (bias) acc += bias[oc];
      out[(size_t)n * cout + oc] = (int8_t)tcnn_clamp(tcnn_mbqm(acc, mult[oc], shift[oc]) + out_off, lo, hi);
    }
  (void)k_len;
  return 0;
}

static int pool_s8(const tcnn_op_args *a, int is_max) {
  const int8_t *x = a->in[0];
  int8_t *out = a->out;
  const tcnn_shape4 is = a->in_shape[0], os = a->out_shape;
  const int32_t kh = F(TCNN_MAX_POOL_2D_KERNEL), kw = F(TCNN_MAX_POOL_2D_KERNEL + 1);
  const int32_t sh = F(TCNN_MAX_POOL_2D_STRIDE), sw = F(TCNN_MAX_POOL_2D_STRIDE + 1);
  const int32_t pt = F(TCNN_MAX_POOL_2D_PAD), pl = F(TCNN_MAX_POOL_2D_PAD + 1);
  const int32_t lo = F(TCNN_MAX_POOL_2D_ACT_MIN), hi = F(TCNN_MAX_POOL_2D_ACT_MAX);
  for (int32_t n = 0; n < os.n; n++)
    for (int32_t oy = 0; oy < os.h; oy++) {
      int32_t y0 = oy * sh - pt, y1 = oy * sh - pt + kh;
      if (y0 < 0) y0 = 0;
      if (y1 > is.h) y1 = is.h;
      for (int32_t ox = 0; ox < os.w; ox++) {
        int32_t x0 = ox * sw - pl, x1 = ox * sw - pl + kw;
        if (x0 < 0) x0 = 0;
        if (x1 > is.w) x1 = is.w;
        const int32_t count = (y1 - y0) * (x1 - x0);
        for (int32_t c = 0; c < os.c; c++) {
          int32_t acc = is_max ? -(1 << 30) : 0;
          for (int32_t iy = y0; iy < y1; iy++)
            for (int32_t ix = x0; ix < x1; ix++) {
              const int32_t v = x[IDX4(is, n, iy, ix, c)];
              if (is_max) { if (v > acc) acc = v; } else acc += v;
            }
          if (!is_max) {
            if (count <= 0) acc = 0;
            else acc = acc > 0 ? (acc + count / 2) / count : -((-acc + count / 2) / count);
          }
          out[IDX4(os, n, oy, ox, c)] = (int8_t)tcnn_clamp(acc, lo, hi);
        }
      }
    }
  return 0;
}

int tcnn_max_pool_s8(const tcnn_op_args *a) { return pool_s8(a, 1); }
int tcnn_avg_pool_s8(const tcnn_op_args *a) { return pool_s8(a, 0); }

int tcnn_mean_s8(const tcnn_op_args *a) {
  const int8_t *x = a->in[0];
  int8_t *out = a->out;
  const tcnn_shape4 is = a->in_shape[0];
  const int32_t in_off = F(TCNN_MEAN_INPUT_OFFSET), out_off = F(TCNN_MEAN_OUTPUT_OFFSET);
  const int32_t mult = F(TCNN_MEAN_OUTPUT_MULTIPLIER), shift = F(TCNN_MEAN_OUTPUT_SHIFT);
  for (int32_t n = 0; n < is.n; n++)
    for (int32_t c = 0; c < is.c; c++) {
      int32_t acc = 0;
      for (int32_t y = 0; y < is.h; y++)
        for (int32_t xx = 0; xx < is.w; xx++) acc += x[IDX4(is, n, y, xx, c)];
      out[(size_t)n * is.c + c] = (int8_t)tcnn_clamp(
          tcnn_mbqm((int64_t)acc + (int64_t)in_off * is.h * is.w, mult, shift) + out_off, -128, 127);
    }
  return 0;
}

/* broadcast index of operand k at output position (n, y, x, c): size-1 dims repeat */
static size_t bidx(const tcnn_shape4 *s, int32_t n, int32_t y, int32_t x, int32_t c) {
  return (((size_t)(s->n == 1 ? 0 : n) * s->h + (s->h == 1 ? 0 : y)) * s->w + (s->w == 1 ? 0 : x)) * s->c
         + (s->c == 1 ? 0 : c);
}

int tcnn_add_sub_s8(const tcnn_op_args *a, int sign) {
  const int8_t *x1 = a->in[0], *x2 = a->in[1];
  int8_t *out = a->out;
  const tcnn_shape4 os = a->out_shape;
  const int64_t ls = (int64_t)1 << F(TCNN_ADD_LEFT_SHIFT);
  for (int32_t n = 0; n < os.n; n++)
    for (int32_t y = 0; y < os.h; y++)
      for (int32_t xx = 0; xx < os.w; xx++)
        for (int32_t c = 0; c < os.c; c++) {
          const int64_t p = tcnn_mbqm(((int64_t)x1[bidx(&a->in_shape[0], n, y, xx, c)] + F(TCNN_ADD_INPUT1_OFFSET)) * ls,
                                      F(TCNN_ADD_INPUT1_MULTIPLIER), F(TCNN_ADD_INPUT1_SHIFT));
          const int64_t q = tcnn_mbqm(((int64_t)x2[bidx(&a->in_shape[1], n, y, xx, c)] + F(TCNN_ADD_INPUT2_OFFSET)) * ls,
                                      F(TCNN_ADD_INPUT2_MULTIPLIER), F(TCNN_ADD_INPUT2_SHIFT));
          const int64_t v = tcnn_mbqm(sign > 0 ? p + q : p - q, F(TCNN_ADD_OUTPUT_MULTIPLIER), F(TCNN_ADD_OUTPUT_SHIFT))
                            + F(TCNN_ADD_OUTPUT_OFFSET);
          out[IDX4(os, n, y, xx, c)] = (int8_t)tcnn_clamp(v, F(TCNN_ADD_ACT_MIN), F(TCNN_ADD_ACT_MAX));
        }
  return 0;
}

int tcnn_mul_s8(const tcnn_op_args *a) {
  const int8_t *x1 = a->in[0], *x2 = a->in[1];
  int8_t *out = a->out;
  const tcnn_shape4 os = a->out_shape;
  for (int32_t n = 0; n < os.n; n++)
    for (int32_t y = 0; y < os.h; y++)
      for (int32_t xx = 0; xx < os.w; xx++)
        for (int32_t c = 0; c < os.c; c++) {
          const int64_t acc = ((int64_t)x1[bidx(&a->in_shape[0], n, y, xx, c)] + F(TCNN_MUL_INPUT1_OFFSET))
                              * ((int64_t)x2[bidx(&a->in_shape[1], n, y, xx, c)] + F(TCNN_MUL_INPUT2_OFFSET));
          const int64_t v = tcnn_mbqm(acc, F(TCNN_MUL_OUTPUT_MULTIPLIER), F(TCNN_MUL_OUTPUT_SHIFT)) + F(TCNN_MUL_OUTPUT_OFFSET);
          out[IDX4(os, n, y, xx, c)] = (int8_t)tcnn_clamp(v, F(TCNN_MUL_ACT_MIN), F(TCNN_MUL_ACT_MAX));
        }
  return 0;
}

int tcnn_requantize_s8(const tcnn_op_args *a) {
  const int8_t *x = a->in[0];
  int8_t *out = a->out;
  const size_t count = (size_t)a->out_shape.n * a->out_shape.h * a->out_shape.w * a->out_shape.c;
  for (size_t i = 0; i < count; i++) {
    const int64_t v = tcnn_mbqm((int64_t)x[i] + F(TCNN_REQUANTIZE_INPUT_OFFSET), F(TCNN_REQUANTIZE_OUTPUT_MULTIPLIER),
                                F(TCNN_REQUANTIZE_OUTPUT_SHIFT)) + F(TCNN_REQUANTIZE_OUTPUT_OFFSET);
    out[i] = (int8_t)tcnn_clamp(v, -128, 127);
  }
  return 0;
}

int tcnn_lut_s8(const tcnn_op_args *a) {
  const int8_t *x = a->in[0];
  const int8_t *table = (const int8_t *)a->arr[0];
  int8_t *out = a->out;
  const size_t count = (size_t)a->out_shape.n * a->out_shape.h * a->out_shape.w * a->out_shape.c;
  for (size_t i = 0; i < count; i++) out[i] = table[(uint8_t)(x[i] + 128)];
  return 0;
}
