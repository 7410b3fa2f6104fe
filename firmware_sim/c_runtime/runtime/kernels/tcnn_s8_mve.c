/* Helium (MVE, Armv8.1-M: Cortex-M55) paths of the int8 conv (general and 1x1), depthwise and
 * fully connected kernels, our own code in the CMSIS-NN way:
 * - conv (groups 1): the raw int8 patches of four output pixels (im2col into the op scratch; the
 *   padding holds the input zero point, so (x + input_offset) is 0 there; a 1x1 conv without
 *   padding reads its pixels in place) are multiplied by one weight row with VMLADAVA.S8 (16
 *   MACs per instruction), the weight vector loaded once for the four pixels; the input offset
 *   enters as input_offset * sum(w), the row sum taken by VADDVA in the same loop;
 * - fully connected: one input row against four weight rows, the same way;
 * - depthwise (depth multiplier 1): sixteen (eight) channels per step, (x + input_offset) * w in int16
 *   lanes by VMULLB / VMULLT into int32 accumulators;
 * - requantization of four outputs at once: VQSHL (saturating left shift), VQRDMULH (TFLite's
 *   SaturatingRoundingDoublingHighMul) and a rounding right shift VRSHL with the
 *   round-half-away-from-zero fixup of RoundingDivideByPOT; tails by VCTP predication.
 * int32 sums wrap like the portable kernels' (sum x*w + off*sum w == sum (x+off)*w modulo 2^32),
 * so the outputs are bit-exact with them. Compiled only when __ARM_FEATURE_MVE is defined. */
#include "../tcnn_internal.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>

#define F(name) (a->f[name])
#define IDX4(S, N_, Y_, X_, C_) ((((size_t)(N_) * (S).h + (Y_)) * (S).w + (X_)) * (S).c + (C_))

/* TFLite MultiplyByQuantizedMultiplier on four lanes, + output offset, clamped */
static inline int32x4_t requant4(int32x4_t x, int32x4_t mult, int32x4_t shift, int32_t out_off, int32_t lo, int32_t hi) {
  const int32x4_t zero = vdupq_n_s32(0);
  const int32x4_t left = vmaxq_s32(shift, zero), right = vmaxq_s32(vnegq_s32(shift), zero);
  x = vqshlq_s32(x, left);
  x = vqrdmulhq_s32(x, mult);
  const mve_pred16_t fix = vcmpltq_n_s32(x, 0) & vcmpgtq_n_s32(right, 0);
  x = vqsubq_m_n_s32(x, x, 1, fix);  /* negative halves round away from zero */
  x = vrshlq_s32(x, vnegq_s32(right));
  x = vaddq_n_s32(x, out_off);
  return vminq_s32(vmaxq_s32(x, vdupq_n_s32(lo)), vdupq_n_s32(hi));
}

/* dot products of four int8 columns with one weight row of length k; + in_off * sum(w). Full
 * 16-byte steps unpredicated, the tail by VCTP. */
static inline void dot4(const int8_t *c0, const int8_t *c1, const int8_t *c2, const int8_t *c3, const int8_t *w,
                        int32_t k, int32_t in_off, int32_t acc[4]) {
  int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, ws = 0;
  for (int32_t steps = k >> 4; steps > 0; steps--, w += 16, c0 += 16, c1 += 16, c2 += 16, c3 += 16) {
    const int8x16_t wv = vldrbq_s8(w);
    ws = vaddvaq_s8(ws, wv);
    a0 = vmladavaq_s8(a0, vldrbq_s8(c0), wv);
    a1 = vmladavaq_s8(a1, vldrbq_s8(c1), wv);
    a2 = vmladavaq_s8(a2, vldrbq_s8(c2), wv);
    a3 = vmladavaq_s8(a3, vldrbq_s8(c3), wv);
  }
  if (k & 15) {
    const mve_pred16_t p = vctp8q((uint32_t)(k & 15));
    const int8x16_t wv = vldrbq_z_s8(w, p);
    ws = vaddvaq_s8(ws, wv);
    a0 = vmladavaq_s8(a0, vldrbq_z_s8(c0, p), wv);
    a1 = vmladavaq_s8(a1, vldrbq_z_s8(c1, p), wv);
    a2 = vmladavaq_s8(a2, vldrbq_z_s8(c2, p), wv);
    a3 = vmladavaq_s8(a3, vldrbq_z_s8(c3, p), wv);
  }
  const int32_t off = (int32_t)((uint32_t)in_off * (uint32_t)ws);
  acc[0] = tcnn_add32(a0, off); acc[1] = tcnn_add32(a1, off); acc[2] = tcnn_add32(a2, off); acc[3] = tcnn_add32(a3, off);
}

/* raw int8 patch of output pixel (n, oy, ox): K values, the input zero point in the padding */
static void gather8(const tcnn_op_args *a, int32_t n, int32_t oy, int32_t ox, int8_t *col) {
  const int8_t *x = a->in[0];
  const tcnn_shape4 is = a->in_shape[0];
  const int32_t kh = a->in_shape[1].h, kw = a->in_shape[1].w, cin = a->in_shape[1].c;
  const int32_t sh = F(TCNN_CONV_2D_STRIDE), sw = F(TCNN_CONV_2D_STRIDE + 1);
  const int32_t dh = F(TCNN_CONV_2D_DILATION), dw = F(TCNN_CONV_2D_DILATION + 1);
  const int32_t pt = F(TCNN_CONV_2D_PAD), pl = F(TCNN_CONV_2D_PAD + 1);
  const int8_t zp = (int8_t)(-F(TCNN_CONV_2D_INPUT_OFFSET));
  for (int32_t ky = 0; ky < kh; ky++) {
    const int32_t iy = oy * sh - pt + ky * dh;
    for (int32_t kx = 0; kx < kw; kx++, col += cin) {
      const int32_t ix = ox * sw - pl + kx * dw;
      if (iy >= 0 && iy < is.h && ix >= 0 && ix < is.w) {
        const int8_t *xp = x + IDX4(is, n, iy, ix, 0);
        for (int32_t c = 0; c < cin; c += 16) {
          const mve_pred16_t p = vctp8q((uint32_t)(cin - c));
          vstrbq_p_s8(col + c, vldrbq_z_s8(xp + c, p), p);
        }
      } else {
        for (int32_t c = 0; c < cin; c++) col[c] = zp;
      }
    }
  }
}

int tcnn_conv_s8_mve(const tcnn_op_args *a, int16_t *scratch) {
  const int32_t in_off = F(TCNN_CONV_2D_INPUT_OFFSET);
  if (in_off < -127 || in_off > 128) return tcnn_conv_s8(a);  /* the zero point must be an int8 */
  const int8_t *x = a->in[0], *w = a->in[1];
  const int32_t *bias = a->in[2], *mult = a->arr[0], *shift = a->arr[1];
  int8_t *out = a->out;
  const tcnn_shape4 is = a->in_shape[0], os = a->out_shape;
  const int32_t cout = a->in_shape[1].n, kh = a->in_shape[1].h, kw = a->in_shape[1].w, cin = a->in_shape[1].c;
  const int32_t k_len = kh * kw * cin;
  const int32_t out_off = F(TCNN_CONV_2D_OUTPUT_OFFSET), lo = F(TCNN_CONV_2D_ACT_MIN), hi = F(TCNN_CONV_2D_ACT_MAX);
  const int32_t sh = F(TCNN_CONV_2D_STRIDE), sw = F(TCNN_CONV_2D_STRIDE + 1);
  const int in_place = kh == 1 && kw == 1 && F(TCNN_CONV_2D_PAD) == 0 && F(TCNN_CONV_2D_PAD + 1) == 0;
  int8_t *cols = (int8_t *)scratch;  /* 4 * K bytes: the scratch of this op (tcnn_runtime.c op_scratch) */
  const int32_t pixels = os.n * os.h * os.w;
  const uint32x4_t step = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)cout);
  for (int32_t p = 0; p < pixels; p += 4) {
    const int np = pixels - p < 4 ? pixels - p : 4;
    const int8_t *col[4];
    for (int j = 0; j < 4; j++) {
      const int32_t q = p + (j < np ? j : 0), n = q / (os.h * os.w), oy = (q / os.w) % os.h, ox = q % os.w;
      if (in_place) {
        col[j] = x + IDX4(is, n, oy * sh, ox * sw, 0);
      } else {
        col[j] = cols + (size_t)j * k_len;
        if (j < np) gather8(a, n, oy, ox, cols + (size_t)j * k_len);
      }
    }
    const mve_pred16_t keep = vctp32q((uint32_t)np);
    for (int32_t oc = 0; oc < cout; oc++) {
      int32_t acc[4];
      dot4(col[0], col[1], col[2], col[3], w + (size_t)oc * k_len, k_len, in_off, acc);
      int32x4_t v = vaddq_n_s32(vldrwq_s32(acc), bias ? bias[oc] : 0);
      v = requant4(v, vdupq_n_s32(mult[oc]), vdupq_n_s32(shift[oc]), out_off, lo, hi);
      vstrbq_scatter_offset_p_s32(out + (size_t)p * cout + oc, step, v, keep);
    }
  }
  return 0;
}

int tcnn_fc_s8_mve(const tcnn_op_args *a) {
  const int32_t in_off = F(TCNN_FULLY_CONNECTED_INPUT_OFFSET);
  const int8_t *x = a->in[0], *w = a->in[1];
  const int32_t *bias = a->in[2], *mult = a->arr[0], *shift = a->arr[1];
  int8_t *out = a->out;
  const int32_t cout = a->out_shape.c, batch = a->out_shape.n, k_len = a->in_shape[1].c;
  const int32_t out_off = F(TCNN_FULLY_CONNECTED_OUTPUT_OFFSET);
  const int32_t lo = F(TCNN_FULLY_CONNECTED_ACT_MIN), hi = F(TCNN_FULLY_CONNECTED_ACT_MAX);
  for (int32_t n = 0; n < batch; n++) {
    const int8_t *xp = x + (size_t)n * k_len;
    for (int32_t oc = 0; oc < cout; oc += 4) {
      const int nc = cout - oc < 4 ? cout - oc : 4;
      int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      const int8_t *w0 = w + (size_t)oc * k_len, *w1 = w0 + (nc > 1 ? k_len : 0);
      const int8_t *w2 = w0 + (nc > 2 ? 2 * k_len : 0), *w3 = w0 + (nc > 3 ? 3 * k_len : 0);
      int32_t i = 0;
#define FC_STEP(LD)                                                                                   \
  {                                                                                                   \
    const int8x16_t xv = LD(xp + i), v0 = LD(w0 + i), v1 = LD(w1 + i), v2 = LD(w2 + i), v3 = LD(w3 + i); \
    a0 = vmladavaq_s8(a0, xv, v0); s0 = vaddvaq_s8(s0, v0);                                           \
    a1 = vmladavaq_s8(a1, xv, v1); s1 = vaddvaq_s8(s1, v1);                                           \
    a2 = vmladavaq_s8(a2, xv, v2); s2 = vaddvaq_s8(s2, v2);                                           \
    a3 = vmladavaq_s8(a3, xv, v3); s3 = vaddvaq_s8(s3, v3);                                           \
  }
      for (; i + 16 <= k_len; i += 16) FC_STEP(vldrbq_s8)
      if (i < k_len) {
        const mve_pred16_t p = vctp8q((uint32_t)(k_len - i));
#define LDZ(ptr) vldrbq_z_s8(ptr, p)
        FC_STEP(LDZ)
#undef LDZ
      }
#undef FC_STEP
      const uint32_t uo = (uint32_t)in_off;  /* wrapping int32 sums */
      const int32_t acc[4] = {tcnn_add32(a0, (int32_t)(uo * (uint32_t)s0)), tcnn_add32(a1, (int32_t)(uo * (uint32_t)s1)),
                              tcnn_add32(a2, (int32_t)(uo * (uint32_t)s2)), tcnn_add32(a3, (int32_t)(uo * (uint32_t)s3))};
      const mve_pred16_t keep = vctp32q((uint32_t)nc);
      int32x4_t v = vldrwq_s32(acc);
      if (bias) v = vaddq_s32(v, vldrwq_z_s32(bias + oc, keep));
      v = requant4(v, vldrwq_z_s32(mult + oc, keep), vldrwq_z_s32(shift + oc, keep), out_off, lo, hi);
      vstrbq_p_s32(out + (size_t)n * cout + oc, v, keep);
    }
  }
  return 0;
}

/* the even (odd) lanes 0, 2, 4, 6 (1, 3, 5, 7) of eight int32 parameters from p, predicated */
static inline int32x4_t half8(const int32_t *p, int odd, mve_pred16_t keep) {
  return vldrwq_gather_shifted_offset_z_s32(p, vaddq_n_u32(vidupq_n_u32(0, 2), (uint32_t)odd), keep);
}

/* One output pixel, one group of eight channels (two: sixteen), in int16 lanes: (x + input_offset) * w
 * by VMULLB / VMULLT into int32 accumulators of the even and odd channels; VMOVNB / VMOVNT put the
 * requantized halves back in order. Pixels in raster order, every channel of a pixel before the
 * next pixel: the order firmware_sim's planner assumes when it lets the output overlap the input. */
static inline __attribute__((always_inline)) void dw_group(const tcnn_op_args *a, int32_t n, int32_t oy, int32_t ox,
                                                           int32_t c, int two) {
  const int8_t *x = a->in[0], *w = a->in[1];
  const int32_t *bias = a->in[2], *mult = a->arr[0], *shift = a->arr[1];
  const tcnn_shape4 is = a->in_shape[0], os = a->out_shape;
  const int32_t kh = a->in_shape[1].h, kw = a->in_shape[1].w, ch = a->in_shape[1].c;
  const int32_t dh = F(TCNN_DEPTHWISE_CONV_2D_DILATION), dw = F(TCNN_DEPTHWISE_CONV_2D_DILATION + 1);
  const int32_t y0 = oy * F(TCNN_DEPTHWISE_CONV_2D_STRIDE) - F(TCNN_DEPTHWISE_CONV_2D_PAD);
  const int32_t x0 = ox * F(TCNN_DEPTHWISE_CONV_2D_STRIDE + 1) - F(TCNN_DEPTHWISE_CONV_2D_PAD + 1);
  const int16_t in_off = (int16_t)F(TCNN_DEPTHWISE_CONV_2D_INPUT_OFFSET);
  const int32_t out_off = F(TCNN_DEPTHWISE_CONV_2D_OUTPUT_OFFSET);
  const int32_t lo = F(TCNN_DEPTHWISE_CONV_2D_ACT_MIN), hi = F(TCNN_DEPTHWISE_CONV_2D_ACT_MAX);
  const size_t xstep = (size_t)dw * ch;
  const int32_t left = ch - c;  /* >= 16 when two */
  const mve_pred16_t p16 = vctp16q((uint32_t)left);
  const mve_pred16_t pe = vctp32q((uint32_t)((left + 1) / 2)), po = vctp32q((uint32_t)(left / 2));
  const int32x4_t zero = vdupq_n_s32(0);
  /* the taps inside the input: ky in [ky0, ky1), kx in [kx0, kx1) */
  const int32_t ky0 = y0 < 0 ? (-y0 + dh - 1) / dh : 0, kx0 = x0 < 0 ? (-x0 + dw - 1) / dw : 0;
  int32_t ky1 = (is.h - y0 + dh - 1) / dh, kx1 = (is.w - x0 + dw - 1) / dw;
  if (ky1 > kh) ky1 = kh;
  if (kx1 > kw) kx1 = kw;
  int32x4_t ae0 = bias ? half8(bias + c, 0, pe) : zero, ao0 = bias ? half8(bias + c, 1, po) : zero;
  int32x4_t ae1 = two && bias ? half8(bias + c + 8, 0, pe) : zero, ao1 = two && bias ? half8(bias + c + 8, 1, po) : zero;
  for (int32_t ky = ky0; ky < ky1; ky++) {
    const int8_t *xp = x + IDX4(is, n, y0 + ky * dh, x0 + kx0 * dw, c), *wp = w + ((size_t)ky * kw + kx0) * ch + c;
    for (int32_t kx = kx0; kx < kx1; kx++, xp += xstep, wp += ch) {
      const int16x8_t xv = vaddq_n_s16(left >= 8 ? vldrbq_s16(xp) : vldrbq_z_s16(xp, p16), in_off);
      const int16x8_t wv = left >= 8 ? vldrbq_s16(wp) : vldrbq_z_s16(wp, p16);
      ae0 = vaddq_s32(ae0, vmullbq_int_s16(xv, wv));
      ao0 = vaddq_s32(ao0, vmulltq_int_s16(xv, wv));
      if (two) {
        const int16x8_t xv1 = vaddq_n_s16(vldrbq_s16(xp + 8), in_off), wv1 = vldrbq_s16(wp + 8);
        ae1 = vaddq_s32(ae1, vmullbq_int_s16(xv1, wv1));
        ao1 = vaddq_s32(ao1, vmulltq_int_s16(xv1, wv1));
      }
    }
  }
  int8_t *op = (int8_t *)a->out + IDX4(os, n, oy, ox, c);
  ae0 = requant4(ae0, half8(mult + c, 0, pe), half8(shift + c, 0, pe), out_off, lo, hi);
  ao0 = requant4(ao0, half8(mult + c, 1, po), half8(shift + c, 1, po), out_off, lo, hi);
  vstrbq_p_s16(op, vmovntq_s32(vmovnbq_s32(vdupq_n_s16(0), ae0), ao0), p16);
  if (two) {
    ae1 = requant4(ae1, half8(mult + c + 8, 0, pe), half8(shift + c + 8, 0, pe), out_off, lo, hi);
    ao1 = requant4(ao1, half8(mult + c + 8, 1, po), half8(shift + c + 8, 1, po), out_off, lo, hi);
    vstrbq_s16(op + 8, vmovntq_s32(vmovnbq_s32(vdupq_n_s16(0), ae1), ao1));
  }
}

int tcnn_depthwise_s8_mve(const tcnn_op_args *a) {
  const tcnn_shape4 os = a->out_shape;
  const int32_t ch = a->in_shape[1].c;
  for (int32_t n = 0; n < os.n; n++)
    for (int32_t oy = 0; oy < os.h; oy++)
      for (int32_t ox = 0; ox < os.w; ox++) {
        int32_t c = 0;
        for (; c + 16 <= ch; c += 16) dw_group(a, n, oy, ox, c, 1);
        for (; c < ch; c += 8) dw_group(a, n, oy, ox, c, 0);
      }
  return 0;
}
#endif
