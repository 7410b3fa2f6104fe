/* The portable weighted kernels (conv, depthwise, FC) as a template, instantiated in tcnn_s8.c:
 * X_T input, W_T weight, OUT_T output, ACC_T accumulator, BIAS(oc) and REQUANT(acc, mult, shift)
 * per scheme (int8: int32 sums, MBQM; 16x8: int64 sums, int64 MBQM), TCNN_S8_NAME the names.
 * W_OFF(field): the weight offset added to every weight (0; legacy uint8: the record's field). */
#ifndef W_OFF
#define W_OFF(field) 0
#endif

int TCNN_S8_NAME(tcnn_conv_s8)(const tcnn_op_args *a) {
  const X_T *x = a->in[0];
  const W_T *w = a->in[1];
    OUT_T *out = a->out;
  const tcnn_shape4 is = a->in_shape[0], os = a->out_shape;
  const int32_t cout = a->in_shape[1].n, kh = a->in_shape[1].h, kw = a->in_shape[1].w, cig = a->in_shape[1].c;
  const int32_t sh = F(TCNN_CONV_2D_STRIDE), sw = F(TCNN_CONV_2D_STRIDE + 1);
  const int32_t dh = F(TCNN_CONV_2D_DILATION), dw = F(TCNN_CONV_2D_DILATION + 1);
  const int32_t pt = F(TCNN_CONV_2D_PAD), pl = F(TCNN_CONV_2D_PAD + 1);
  const int32_t groups = F(TCNN_CONV_2D_GROUPS), in_off = F(TCNN_CONV_2D_INPUT_OFFSET);
  const int32_t out_off = F(TCNN_CONV_2D_OUTPUT_OFFSET), lo = F(TCNN_CONV_2D_ACT_MIN), hi = F(TCNN_CONV_2D_ACT_MAX);
  const int32_t *mult = (const int32_t *)a->arr[0], *shift = (const int32_t *)a->arr[1];
  const int32_t cog = cout / groups, w_off = W_OFF(TCNN_CONV_2D_WEIGHT_OFFSET);
  for (int32_t n = 0; n < os.n; n++)
    for (int32_t oy = 0; oy < os.h; oy++)
      for (int32_t ox = 0; ox < os.w; ox++)
        for (int32_t oc = 0; oc < cout; oc++) {
          const int32_t g = oc / cog;
          ACC_T acc = 0;
          for (int32_t ky = 0; ky < kh; ky++) {
            const int32_t iy = oy * sh - pt + ky * dh;
            if (iy < 0 || iy >= is.h) continue;
            for (int32_t kx = 0; kx < kw; kx++) {
              const int32_t ix = ox * sw - pl + kx * dw;
              if (ix < 0 || ix >= is.w) continue;
              const X_T *xp = x + IDX4(is, n, iy, ix, g * cig);
              const W_T *wp = w + (((size_t)oc * kh + ky) * kw + kx) * cig;
              for (int32_t ic = 0; ic < cig; ic++) acc = ACC_ADD(acc, ((ACC_T)xp[ic] + in_off) * (wp[ic] + w_off));
            }
          }
          if (a->in[2]) acc = ACC_ADD(acc, BIAS(oc));
          out[IDX4(os, n, oy, ox, oc)] = (OUT_T)tcnn_clamp(REQUANT(acc, mult[oc], shift[oc]) + out_off, lo, hi);
        }
  return 0;
}

int TCNN_S8_NAME(tcnn_depthwise_s8)(const tcnn_op_args *a) {
  const X_T *x = a->in[0];
  const W_T *w = a->in[1];
    OUT_T *out = a->out;
  const tcnn_shape4 is = a->in_shape[0], os = a->out_shape;
  /* weights [KH, KW, Cout] are seen as shape4 {1, KH, KW, Cout} */
  const int32_t kh = a->in_shape[1].h, kw = a->in_shape[1].w, cout = a->in_shape[1].c;
  const int32_t sh = F(TCNN_DEPTHWISE_CONV_2D_STRIDE), sw = F(TCNN_DEPTHWISE_CONV_2D_STRIDE + 1);
  const int32_t dh = F(TCNN_DEPTHWISE_CONV_2D_DILATION), dw = F(TCNN_DEPTHWISE_CONV_2D_DILATION + 1);
  const int32_t pt = F(TCNN_DEPTHWISE_CONV_2D_PAD), pl = F(TCNN_DEPTHWISE_CONV_2D_PAD + 1);
  const int32_t dm = F(TCNN_DEPTHWISE_CONV_2D_DEPTH_MULTIPLIER), in_off = F(TCNN_DEPTHWISE_CONV_2D_INPUT_OFFSET);
  const int32_t out_off = F(TCNN_DEPTHWISE_CONV_2D_OUTPUT_OFFSET), w_off = W_OFF(TCNN_DEPTHWISE_CONV_2D_WEIGHT_OFFSET);
  const int32_t lo = F(TCNN_DEPTHWISE_CONV_2D_ACT_MIN), hi = F(TCNN_DEPTHWISE_CONV_2D_ACT_MAX);
  const int32_t *mult = (const int32_t *)a->arr[0], *shift = (const int32_t *)a->arr[1];
  for (int32_t n = 0; n < os.n; n++)
    for (int32_t oy = 0; oy < os.h; oy++)
      for (int32_t ox = 0; ox < os.w; ox++)
        for (int32_t oc = 0; oc < cout; oc++) {
          const int32_t ic = oc / dm;
          ACC_T acc = 0;
          for (int32_t ky = 0; ky < kh; ky++) {
            const int32_t iy = oy * sh - pt + ky * dh;
            if (iy < 0 || iy >= is.h) continue;
            for (int32_t kx = 0; kx < kw; kx++) {
              const int32_t ix = ox * sw - pl + kx * dw;
              if (ix < 0 || ix >= is.w) continue;
              acc = ACC_ADD(acc, ((ACC_T)x[IDX4(is, n, iy, ix, ic)] + in_off) * (w[((size_t)ky * kw + kx) * cout + oc] + w_off));
            }
          }
          if (a->in[2]) acc = ACC_ADD(acc, BIAS(oc));
          out[IDX4(os, n, oy, ox, oc)] = (OUT_T)tcnn_clamp(REQUANT(acc, mult[oc], shift[oc]) + out_off, lo, hi);
        }
  return 0;
}

int TCNN_S8_NAME(tcnn_fc_s8)(const tcnn_op_args *a) {
  const X_T *x = a->in[0];
  const W_T *w = a->in[1];
    OUT_T *out = a->out;
  const int32_t cout = a->out_shape.c;  /* weights [Cout, K] as {1, 1, Cout, K} */
  const int32_t batch = a->out_shape.n;
  const int32_t in_off = F(TCNN_FULLY_CONNECTED_INPUT_OFFSET), out_off = F(TCNN_FULLY_CONNECTED_OUTPUT_OFFSET);
  const int32_t lo = F(TCNN_FULLY_CONNECTED_ACT_MIN), hi = F(TCNN_FULLY_CONNECTED_ACT_MAX);
  const int32_t *mult = (const int32_t *)a->arr[0], *shift = (const int32_t *)a->arr[1];
  const int32_t k_in = a->in_shape[1].c, w_off = W_OFF(TCNN_FULLY_CONNECTED_WEIGHT_OFFSET);
  for (int32_t n = 0; n < batch; n++)
    for (int32_t oc = 0; oc < cout; oc++) {
      const X_T *xp = x + (size_t)n * k_in;
      const W_T *wp = w + (size_t)oc * k_in;
      ACC_T acc = 0;
      for (int32_t k = 0; k < k_in; k++) acc = ACC_ADD(acc, ((ACC_T)xp[k] + in_off) * (wp[k] + w_off));
      if (a->in[2]) acc = ACC_ADD(acc, BIAS(oc));
      out[(size_t)n * cout + oc] = (OUT_T)tcnn_clamp(REQUANT(acc, mult[oc], shift[oc]) + out_off, lo, hi);
    }
  return 0;
}

