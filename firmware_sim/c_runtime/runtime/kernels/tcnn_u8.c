/* Legacy uint8 TFLite kernels (kernel variant "uint8", docs/blob-format.md): activations are the
 * uint8 values shifted by -128 to int8, as everywhere in tinycnn, and
 * - CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED: int8 weights (w - 128) plus the record's
 *   weight_offset (128 - zero point), i.e. the exact w - zero point of TFLite's uint8 kernels
 *   (the portable int8 template of tcnn_s8_impl.h with W_OFF reading the field; int32 sums);
 * - AVERAGE_POOL_2D: TFLite's uint8 rounding, (sum + count / 2) / count on the unshifted
 *   (non-negative) uint8 sum, i.e. half up.
 * Bit-exact with tinycnn/kernels/uint8.py and tflite-runtime's reference kernels. No floating point. */
#include "../tcnn_internal.h"

#define F(name) (a->f[name])
#define IDX4(S, N_, Y_, X_, C_) ((((size_t)(N_) * (S).h + (Y_)) * (S).w + (X_)) * (S).c + (C_))

#define X_T int8_t
#define W_T int8_t
#define OUT_T int8_t
#define ACC_T int32_t
#define ACC_ADD tcnn_add32
#define BIAS(oc) ((const int32_t *)a->in[2])[oc]
#define REQUANT tcnn_mbqm
#define W_OFF(field) F(field)
#define TCNN_S8_NAME(f) f##_u8
#include "tcnn_s8_impl.h"

int tcnn_avg_pool_u8(const tcnn_op_args *a) {
  const tcnn_shape4 is = a->in_shape[0], os = a->out_shape;
  const int8_t *x = a->in[0];
  int8_t *out = a->out;
  const int32_t kh = F(TCNN_AVERAGE_POOL_2D_KERNEL), kw = F(TCNN_AVERAGE_POOL_2D_KERNEL + 1);
  const int32_t sh = F(TCNN_AVERAGE_POOL_2D_STRIDE), sw = F(TCNN_AVERAGE_POOL_2D_STRIDE + 1);
  const int32_t pt = F(TCNN_AVERAGE_POOL_2D_PAD), pl = F(TCNN_AVERAGE_POOL_2D_PAD + 1);
  const int32_t lo = F(TCNN_AVERAGE_POOL_2D_ACT_MIN), hi = F(TCNN_AVERAGE_POOL_2D_ACT_MAX);
  for (int32_t n = 0; n < os.n; n++)
    for (int32_t oy = 0; oy < os.h; oy++) {
      const int32_t y0 = oy * sh - pt < 0 ? 0 : oy * sh - pt, y1 = oy * sh - pt + kh > is.h ? is.h : oy * sh - pt + kh;
      for (int32_t ox = 0; ox < os.w; ox++) {
        const int32_t x0 = ox * sw - pl < 0 ? 0 : ox * sw - pl, x1 = ox * sw - pl + kw > is.w ? is.w : ox * sw - pl + kw;
        const int32_t count = (y1 - y0) * (x1 - x0);
        for (int32_t c = 0; c < os.c; c++) {
          int64_t sum = 0;  /* of the uint8 values (>= 0; a 4096 x 4096 window exceeds int32) */
          for (int32_t iy = y0; iy < y1; iy++)
            for (int32_t ix = x0; ix < x1; ix++) sum += (int32_t)x[IDX4(is, n, iy, ix, c)] + 128;
          const int64_t v = count > 0 ? (sum + count / 2) / count - 128 : 0;
          out[IDX4(os, n, oy, ox, c)] = (int8_t)tcnn_clamp(v, lo, hi);
        }
      }
    }
  return 0;
}
