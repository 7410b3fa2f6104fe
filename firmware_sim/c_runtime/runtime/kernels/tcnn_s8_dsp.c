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
typedef struct { int32_t mult, e, mask, half, shift, slow; } rq_t;

static inline rq_t rq_prep(int32_t mult, int32_t shift) {
  rq_t q;
  q.mult = mult; q.shift = shift;
  q.slow = shift > 0 || mult == INT32_MIN;
  q.e = shift < 0 ? -shift : 0;
  q.mask = (int32_t)((1u << q.e) - 1u);
  q.half = q.mask >> 1;
  return q;
}
__attribute__((noinline)) static int32_t rq_slow(int32_t acc, int32_t mult, int32_t shift) {
  return (int32_t)tcnn_mbqm(acc, mult, shift);
}
static inline int8_t rq_out(int32_t acc, const rq_t *q, int32_t out_off, int32_t lo, int32_t hi) {
  int32_t v;
  if (__builtin_expect(q->slow, 0)) {
    v = rq_slow(acc, q->mult, q->shift);
  } else {
    const int32_t x = (int32_t)(((int64_t)acc * q->mult + (1 << 30)) >> 31);
    const int32_t thr = q->half + (int32_t)((uint32_t)x >> 31);
    v = (x >> q->e) + ((x & q->mask) > thr);
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

/* the requantized int8 output of a sum (fast path of rq_out: shift <= 0, multiplier != INT32_MIN),
 * with SSAT when the activation range is the whole int8 range */
typedef struct { int32_t out_off, lo, hi; } rq_io;
static inline __attribute__((always_inline)) int8_t rq_fast(int32_t acc, int32_t mult, int32_t e, const rq_io *io,
                                                            int full) {
  const int32_t x = (int32_t)(((int64_t)acc * mult + (1 << 30)) >> 31);
  const int32_t mask = (int32_t)((1u << e) - 1u);
  int32_t v = (x >> e) + ((x & mask) > ((mask >> 1) + (int32_t)((uint32_t)x >> 31))) + io->out_off;
  if (full) return (int8_t)__ssat(v, 8);
  v = v < io->lo ? io->lo : v;
  return (int8_t)(v > io->hi ? io->hi : v);
}

/* every output channel pair of two output pixels (o0 and o0 + d_px; the same pixel twice for an
 * odd last one), from the interleaved columns in col */
static inline __attribute__((always_inline)) void conv_pairs(const int8_t *w, const int32_t *bias, const int32_t *mult,
                                                             const int32_t *shift, const int16_t *col, int32_t k_len,
                                                             int32_t cout, int8_t *o0, int32_t d_px, const rq_io *io,
                                                             int full) {
  for (int32_t oc = 0; oc < cout; oc += 2, w += 2 * k_len) {
    const int32_t d = oc + 1 < cout;  /* 0: an odd last channel, computed twice */
    const int32_t b0 = bias ? bias[oc] : 0, b1 = bias ? bias[oc + d] : 0;
    int32_t acc[2][2] = {{b0, b1}, {b0, b1}};
    tile(w, w + d * k_len, col, k_len, acc);
    const int32_t m0 = mult[oc], m1 = mult[oc + d], s0 = shift[oc], s1 = shift[oc + d];
    int8_t *o = o0 + oc;
    if (__builtin_expect(s0 > 0 || s1 > 0 || m0 == INT32_MIN || m1 == INT32_MIN, 0)) {
      const rq_t q0 = rq_prep(m0, s0), q1 = rq_prep(m1, s1);
      o[d_px] = rq_out(acc[1][0], &q0, io->out_off, io->lo, io->hi);
      o[d_px + d] = rq_out(acc[1][1], &q1, io->out_off, io->lo, io->hi);
      o[0] = rq_out(acc[0][0], &q0, io->out_off, io->lo, io->hi);
      o[d] = rq_out(acc[0][1], &q1, io->out_off, io->lo, io->hi);
      continue;
    }
    o[d_px] = rq_fast(acc[1][0], m0, -s0, io, full);
    o[d_px + d] = rq_fast(acc[1][1], m1, -s1, io, full);
    o[0] = rq_fast(acc[0][0], m0, -s0, io, full);
    o[d] = rq_fast(acc[0][1], m1, -s1, io, full);
  }
}

int tcnn_conv_s8_dsp(const tcnn_op_args *a, int16_t *scratch) {
  const int8_t *w = a->in[1];
  const int32_t *bias = a->in[2];
  int8_t *out = a->out;
  const tcnn_shape4 os = a->out_shape;
  const int32_t cout = a->in_shape[1].n, k_len = a->in_shape[1].h * a->in_shape[1].w * a->in_shape[1].c;
  const rq_io io = {F(TCNN_CONV_2D_OUTPUT_OFFSET), F(TCNN_CONV_2D_ACT_MIN), F(TCNN_CONV_2D_ACT_MAX)};
  const int full = io.lo <= -128 && io.hi >= 127;
  const int32_t *mult = a->arr[0], *shift = a->arr[1];
  const int32_t pixels = os.n * os.h * os.w;
  for (int32_t p = 0; p < pixels; p += 2) {
    const int two = p + 1 < pixels;
    const int32_t q = two ? p + 1 : p;
    gather(a, p / (os.h * os.w), (p / os.w) % os.h, p % os.w, scratch, 0);
    gather(a, q / (os.h * os.w), (q / os.w) % os.h, q % os.w, scratch, 1);
    int8_t *o0 = out + (size_t)p * cout;
    if (full) conv_pairs(w, bias, mult, shift, scratch, k_len, cout, o0, two ? cout : 0, &io, 1);
    else conv_pairs(w, bias, mult, shift, scratch, k_len, cout, o0, two ? cout : 0, &io, 0);
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
      const rq_t q0 = rq_prep(mult[oc], shift[oc]), q1 = rq_prep(mult[oc1], shift[oc1]);
      o[oc] = rq_out(acc[0], &q0, out_off, lo, hi);
      if (pair) o[oc1] = rq_out(acc[1], &q1, out_off, lo, hi);
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

/* three consecutive taps (stride cs bytes in both x and w) of four channels */
#define DW_ASM_TAP                                   \
  "sxtab16 %[xe], %[off2], %[xv]\n\t"                \
  "sxtb16  %[we], %[wv]\n\t"                         \
  "smlabb  %[a0], %[xe], %[we], %[a0]\n\t"           \
  "smlatt  %[a2], %[xe], %[we], %[a2]\n\t"           \
  "sxtab16 %[xe], %[off2], %[xv], ror #8\n\t"        \
  "sxtb16  %[we], %[wv], ror #8\n\t"                 \
  "smlabb  %[a1], %[xe], %[we], %[a1]\n\t"           \
  "smlatt  %[a3], %[xe], %[we], %[a3]\n\t"
static inline void dw_row3(const int8_t *xr, const int8_t *wr, int32_t cs, int32_t off2, int32_t *p0, int32_t *p1,
                           int32_t *p2, int32_t *p3) {
  int32_t a0 = *p0, a1 = *p1, a2 = *p2, a3 = *p3, xv, wv, xe, we;
  __asm__("ldr     %[xv], [%[xr]]\n\t"
          "ldr     %[wv], [%[wr]]\n\t" DW_ASM_TAP
          "ldr     %[xv], [%[xr], %[cs]]\n\t"
          "ldr     %[wv], [%[wr], %[cs]]\n\t" DW_ASM_TAP
          "add     %[xr], %[xr], %[cs], lsl #1\n\t"
          "add     %[wr], %[wr], %[cs], lsl #1\n\t"
          "ldr     %[xv], [%[xr]]\n\t"
          "ldr     %[wv], [%[wr]]\n\t" DW_ASM_TAP
          : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xr] "+r"(xr), [wr] "+r"(wr),
            [xv] "=&r"(xv), [wv] "=&r"(wv), [xe] "=&r"(xe), [we] "=&r"(we)
          : [cs] "r"(cs), [off2] "r"(off2)
          : "memory");
  *p0 = a0; *p1 = a1; *p2 = a2; *p3 = a3;
}

/* the kernel taps inside the image along one axis: k0 <= k < k1 for output start i0 */
static inline void tap_range(int32_t i0, int32_t k_n, int32_t d, int32_t size, int32_t *k0, int32_t *k1) {
  int32_t lo = 0, hi = k_n;
  if (i0 < 0 || i0 + (k_n - 1) * d >= size) {
    while (lo < k_n && i0 + lo * d < 0) lo++;
    while (hi > lo && i0 + (hi - 1) * d >= size) hi--;
  }
  *k0 = lo; *k1 = hi;
}

/* Depthwise (depth multiplier 1): four channels at a time (one word of int8 per tap). Output
 * pixels in order, each written after its inputs are read (the arena plan may let the output
 * overwrite input the op has consumed). */
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
  const int32_t row = is.w * c_n, xstep = dw * c_n, ystep = dh * row, wy = kw * c_n;
  const rq_io io = {out_off, lo, hi};
  const int full = lo <= -128 && hi >= 127;
  int slow = 0;
  for (int32_t c = 0; c < c_n; c++) slow |= shift[c] > 0 || mult[c] == INT32_MIN;
  for (int32_t n = 0; n < os.n; n++) {
    const int8_t *xn = x + (size_t)n * is.h * row;
    int8_t *op = out + (size_t)n * os.h * os.w * c_n;
    for (int32_t oy = 0; oy < os.h; oy++) {
      const int32_t iy0 = oy * sh - pt;
      int32_t ky0, ky1;
      tap_range(iy0, kh, dh, is.h, &ky0, &ky1);
      const int32_t nky = ky1 - ky0;
      for (int32_t ox = 0; ox < os.w; ox++, op += c_n) {
        const int32_t ix0 = ox * sw - pl;
        int32_t kx0, kx1;
        tap_range(ix0, kw, dw, is.w, &kx0, &kx1);
        const int32_t nkx = kx1 - kx0;
        const int8_t *xb = xn + (iy0 + ky0 * dh) * row + (ix0 + kx0 * dw) * c_n;
        const int8_t *wb = w + ky0 * wy + kx0 * c_n;
        int32_t c = 0;
        for (; c < c4; c += 4) {
          int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
          if (bias) { a0 = bias[c]; a1 = bias[c + 1]; a2 = bias[c + 2]; a3 = bias[c + 3]; }
          const int8_t *xr = xb + c, *wr = wb + c;
          if (nkx == 3 && dw == 1) {  /* full 3-wide rows: 32 instructions per row of three taps */
            for (int32_t ky = 0; ky < nky; ky++, xr += ystep, wr += wy) dw_row3(xr, wr, c_n, off2, &a0, &a1, &a2, &a3);
          } else {
            for (int32_t ky = 0; ky < nky; ky++, xr += ystep, wr += wy)
              for (int32_t kx = 0; kx < nkx; kx++) DW_TAP(xr + kx * xstep, wr + kx * c_n);
          }
          int8_t *o = op + c;
          const int32_t *mc = mult + c, *sc = shift + c;
          if (__builtin_expect(slow, 0)) {
            const int32_t acc[4] = {a0, a1, a2, a3};
            for (int j = 0; j < 4; j++) { const rq_t q = rq_prep(mc[j], sc[j]); o[j] = rq_out(acc[j], &q, out_off, lo, hi); }
          } else if (full) {
            o[0] = rq_fast(a0, mc[0], -sc[0], &io, 1); o[1] = rq_fast(a1, mc[1], -sc[1], &io, 1);
            o[2] = rq_fast(a2, mc[2], -sc[2], &io, 1); o[3] = rq_fast(a3, mc[3], -sc[3], &io, 1);
          } else {
            o[0] = rq_fast(a0, mc[0], -sc[0], &io, 0); o[1] = rq_fast(a1, mc[1], -sc[1], &io, 0);
            o[2] = rq_fast(a2, mc[2], -sc[2], &io, 0); o[3] = rq_fast(a3, mc[3], -sc[3], &io, 0);
          }
        }
        for (; c < c_n; c++) {
          int32_t acc = bias ? bias[c] : 0;
          const int8_t *xr = xb + c, *wr = wb + c;
          for (int32_t ky = 0; ky < nky; ky++, xr += ystep, wr += wy)
            for (int32_t kx = 0; kx < nkx; kx++)
              acc = tcnn_add32(acc, ((int32_t)xr[kx * xstep] + in_off) * wr[kx * c_n]);
          const rq_t q = rq_prep(mult[c], shift[c]);
          op[c] = rq_out(acc, &q, out_off, lo, hi);
        }
      }
    }
  }
  return 0;
}
#else
typedef int tcnn_no_dsp;  /* ISO C: a translation unit is not empty */
#endif
