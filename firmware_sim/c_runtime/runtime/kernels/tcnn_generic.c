/* Dtype-generic kernels (int8 and 16x8 share them; clamp limits come from the output dtype or the
 * prepared fields), bit-exact with tinycnn's Python runtime. No floating point. */
#include <string.h>

#include "../tcnn_internal.h"

#define F(name) (a->f[name])
#define IDX4(S, N_, Y_, X_, C_) ((((size_t)(N_) * (S).h + (Y_)) * (S).w + (X_)) * (S).c + (C_))

int tcnn_pool(const tcnn_op_args *a, int is_max) {
  const tcnn_shape4 is = a->in_shape[0], os = a->out_shape;
  const int32_t dt = a->out_dtype;
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
          int64_t acc = is_max ? -(1 << 30) : 0;
          for (int32_t iy = y0; iy < y1; iy++)
            for (int32_t ix = x0; ix < x1; ix++) {
              const int64_t v = tcnn_ld(a->in[0], dt, IDX4(is, n, iy, ix, c));
              if (is_max) { if (v > acc) acc = v; } else acc += v;
            }
          if (!is_max) {
            if (count <= 0) acc = 0;
            else acc = acc > 0 ? (acc + count / 2) / count : -((-acc + count / 2) / count);
          }
          tcnn_st(a->out, dt, IDX4(os, n, oy, ox, c), tcnn_clamp(acc, lo, hi));
        }
      }
    }
  return 0;
}

int tcnn_mean(const tcnn_op_args *a) {
  const tcnn_shape4 is = a->in_shape[0];
  const int32_t dt = a->out_dtype;
  const int32_t in_off = F(TCNN_MEAN_INPUT_OFFSET), out_off = F(TCNN_MEAN_OUTPUT_OFFSET);
  const int32_t mult = F(TCNN_MEAN_OUTPUT_MULTIPLIER), shift = F(TCNN_MEAN_OUTPUT_SHIFT);
  for (int32_t n = 0; n < is.n; n++)
    for (int32_t c = 0; c < is.c; c++) {
      int64_t acc = 0;
      for (int32_t y = 0; y < is.h; y++)
        for (int32_t xx = 0; xx < is.w; xx++) acc += tcnn_ld(a->in[0], dt, IDX4(is, n, y, xx, c));
      const int64_t v = tcnn_mbqm(acc + (int64_t)in_off * is.h * is.w, mult, shift) + out_off;
      tcnn_st(a->out, dt, (size_t)n * is.c + c, tcnn_clamp(v, tcnn_dt_min(dt), tcnn_dt_max(dt)));
    }
  return 0;
}

/* broadcast index of an operand at output position (n, y, x, c): size-1 dims repeat */
static size_t bidx(const tcnn_shape4 *s, int32_t n, int32_t y, int32_t x, int32_t c) {
  return (((size_t)(s->n == 1 ? 0 : n) * s->h + (s->h == 1 ? 0 : y)) * s->w + (s->w == 1 ? 0 : x)) * s->c
         + (s->c == 1 ? 0 : c);
}

int tcnn_add_sub(const tcnn_op_args *a, int sign) {
  const tcnn_shape4 os = a->out_shape;
  const int64_t ls = (int64_t)1 << F(TCNN_ADD_LEFT_SHIFT);
  for (int32_t n = 0; n < os.n; n++)
    for (int32_t y = 0; y < os.h; y++)
      for (int32_t xx = 0; xx < os.w; xx++)
        for (int32_t c = 0; c < os.c; c++) {
          const int64_t x1 = tcnn_ld(a->in[0], a->in_dtype[0], bidx(&a->in_shape[0], n, y, xx, c));
          const int64_t x2 = tcnn_ld(a->in[1], a->in_dtype[1], bidx(&a->in_shape[1], n, y, xx, c));
          const int64_t p = tcnn_mbqm((x1 + F(TCNN_ADD_INPUT1_OFFSET)) * ls, F(TCNN_ADD_INPUT1_MULTIPLIER), F(TCNN_ADD_INPUT1_SHIFT));
          const int64_t q = tcnn_mbqm((x2 + F(TCNN_ADD_INPUT2_OFFSET)) * ls, F(TCNN_ADD_INPUT2_MULTIPLIER), F(TCNN_ADD_INPUT2_SHIFT));
          const int64_t v = tcnn_mbqm(sign > 0 ? p + q : p - q, F(TCNN_ADD_OUTPUT_MULTIPLIER), F(TCNN_ADD_OUTPUT_SHIFT))
                            + F(TCNN_ADD_OUTPUT_OFFSET);
          tcnn_st(a->out, a->out_dtype, IDX4(os, n, y, xx, c), tcnn_clamp(v, F(TCNN_ADD_ACT_MIN), F(TCNN_ADD_ACT_MAX)));
        }
  return 0;
}

int tcnn_mul(const tcnn_op_args *a) {
  const tcnn_shape4 os = a->out_shape;
  for (int32_t n = 0; n < os.n; n++)
    for (int32_t y = 0; y < os.h; y++)
      for (int32_t xx = 0; xx < os.w; xx++)
        for (int32_t c = 0; c < os.c; c++) {
          const int64_t x1 = tcnn_ld(a->in[0], a->in_dtype[0], bidx(&a->in_shape[0], n, y, xx, c));
          const int64_t x2 = tcnn_ld(a->in[1], a->in_dtype[1], bidx(&a->in_shape[1], n, y, xx, c));
          const int64_t acc = (x1 + F(TCNN_MUL_INPUT1_OFFSET)) * (x2 + F(TCNN_MUL_INPUT2_OFFSET));
          const int64_t v = tcnn_mbqm(acc, F(TCNN_MUL_OUTPUT_MULTIPLIER), F(TCNN_MUL_OUTPUT_SHIFT)) + F(TCNN_MUL_OUTPUT_OFFSET);
          tcnn_st(a->out, a->out_dtype, IDX4(os, n, y, xx, c), tcnn_clamp(v, F(TCNN_MUL_ACT_MIN), F(TCNN_MUL_ACT_MAX)));
        }
  return 0;
}

int tcnn_prelu_s8(const tcnn_op_args *a) {
  const tcnn_shape4 os = a->out_shape;
  const int8_t *x = a->in[0];
  for (int32_t n = 0; n < os.n; n++)
    for (int32_t y = 0; y < os.h; y++)
      for (int32_t xx = 0; xx < os.w; xx++)
        for (int32_t c = 0; c < os.c; c++) {
          const int64_t v = (int64_t)x[bidx(&a->in_shape[0], n, y, xx, c)] + F(TCNN_PRELU_INPUT_OFFSET);
          const int64_t al = tcnn_ld(a->in[1], a->in_dtype[1], bidx(&a->in_shape[1], n, y, xx, c));
          const int64_t r = v >= 0 ? tcnn_mbqm(v, F(TCNN_PRELU_OUTPUT_MULTIPLIER_1), F(TCNN_PRELU_OUTPUT_SHIFT_1))
                                   : tcnn_mbqm(v * (al + F(TCNN_PRELU_ALPHA_OFFSET)), F(TCNN_PRELU_OUTPUT_MULTIPLIER_2),
                                               F(TCNN_PRELU_OUTPUT_SHIFT_2));
          ((int8_t *)a->out)[IDX4(os, n, y, xx, c)] = (int8_t)tcnn_clamp(r + F(TCNN_PRELU_OUTPUT_OFFSET), -128, 127);
        }
  return 0;
}

int tcnn_requantize(const tcnn_op_args *a) {
  const size_t count = tcnn_count(a->out_shape);
  const int32_t lo = tcnn_dt_min(a->out_dtype), hi = tcnn_dt_max(a->out_dtype);
  for (size_t i = 0; i < count; i++) {
    const int64_t v = tcnn_mbqm(tcnn_ld(a->in[0], a->in_dtype[0], i) + F(TCNN_REQUANTIZE_INPUT_OFFSET),
                                F(TCNN_REQUANTIZE_OUTPUT_MULTIPLIER), F(TCNN_REQUANTIZE_OUTPUT_SHIFT))
                      + F(TCNN_REQUANTIZE_OUTPUT_OFFSET);
    tcnn_st(a->out, a->out_dtype, i, tcnn_clamp(v, lo, hi));
  }
  return 0;
}

int tcnn_lut_s8(const tcnn_op_args *a) {
  const int8_t *x = a->in[0], *table = a->arr[0];
  int8_t *out = a->out;
  const size_t count = tcnn_count(a->out_shape);
  for (size_t i = 0; i < count; i++) out[i] = table[(int32_t)x[i] + 128];
  return 0;
}

/* softmax over the last axis: e = table[max - x] (Q20), out = round(256 e / sum e) - 128 */
int tcnn_softmax_s8(const tcnn_op_args *a) {
  const int8_t *x = a->in[0];
  const int32_t *table = a->arr[0];
  int8_t *out = a->out;
  const int32_t cols = a->out_dims.d[a->out_dims.rank - 1];
  const size_t rows = tcnn_count(a->out_shape) / (size_t)cols;
  for (size_t r = 0; r < rows; r++) {
    const int8_t *xr = x + r * cols;
    int32_t m = -128;
    for (int32_t c = 0; c < cols; c++) if (xr[c] > m) m = xr[c];
    int64_t total = 0;
    for (int32_t c = 0; c < cols; c++) total += table[m - xr[c]];
    for (int32_t c = 0; c < cols; c++) {
      const int64_t e = table[m - xr[c]];
      out[r * cols + c] = (int8_t)tcnn_clamp((e * 512 + total) / (2 * total) - 128, -128, 127);
    }
  }
  return 0;
}

static int64_t wrap32(int64_t x) { return (int64_t)(int32_t)(uint32_t)(x & 0xFFFFFFFF); }

/* gemmlowp one_over_one_plus_x_for_x_in_0_1 (Newton-Raphson), as tinycnn/kernels/tflite_ops.py */
static int64_t one_over_one_plus_x(int64_t a) {
  const int64_t s = a + INT32_MAX;
  const int64_t t = s + (s >= 0 ? 1 : -1);
  const int64_t half_denominator = t >= 0 ? t / 2 : -((-t) / 2);
  int64_t x = wrap32(1515870810 + tcnn_srdhm(half_denominator, -1010580540));
  for (int i = 0; i < 3; i++) {
    const int64_t hdx = tcnn_srdhm(half_denominator, x);
    const int64_t one_minus = wrap32((1 << 29) - hdx);
    int64_t p = tcnn_srdhm(x, one_minus);
    if (p > (1 << 29) - 1) p = INT32_MAX;
    else if (p < -((1 << 29) - 1)) p = INT32_MIN;
    else p = p * 4;
    x = wrap32(x + p);
  }
  if (x > (1 << 30) - 1) return INT32_MAX;
  if (x < -((1 << 30) - 1)) return INT32_MIN;
  return x * 2;
}

/* TFLite Micro's int8 softmax (exp tables prepared at import: exp_q0, exp_acc; -1 = below diff_min) */
int tcnn_softmax_tflm_s8(const tcnn_op_args *a) {
  const int8_t *x = a->in[0];
  const int32_t *exp_q0 = a->arr[1], *exp_acc = a->arr[2];
  int8_t *out = a->out;
  const int32_t cols = a->out_dims.d[a->out_dims.rank - 1];
  const size_t rows = tcnn_count(a->out_shape) / (size_t)cols;
  for (size_t r = 0; r < rows; r++) {
    const int8_t *xr = x + r * cols;
    int32_t m = -128;
    for (int32_t c = 0; c < cols; c++) if (xr[c] > m) m = xr[c];
    int64_t total = 0;
    for (int32_t c = 0; c < cols; c++) {
      const int64_t e = exp_acc[m - xr[c]];
      if (e >= 0) total += e;
    }
    total = wrap32(total);
    int headroom = 0;
    int64_t v = total;
    while (headroom < 32 && (v & ((int64_t)1 << 31)) == 0) { v <<= 1; headroom++; }
    const int bits = 12 - headroom;
    const int64_t shifted = wrap32(((total << headroom) & 0xFFFFFFFF) - ((int64_t)1 << 31));
    const int64_t scale = one_over_one_plus_x(shifted);
    for (int32_t c = 0; c < cols; c++) {
      const int64_t e = exp_q0[m - xr[c]];
      if (e < 0) out[r * cols + c] = -128;
      else out[r * cols + c] = (int8_t)tcnn_clamp(tcnn_rdbpot(tcnn_srdhm(scale, e), bits + 31 - 8) - 128, -128, 127);
    }
  }
  return 0;
}

static size_t elems(const tcnn_dims *d, int from) {
  size_t e = 1;
  for (int r = from; r < d->rank; r++) e *= (size_t)d->d[r];
  return e;
}

int tcnn_concat(const tcnn_op_args *a) {
  int32_t axis = F(TCNN_CONCATENATION_AXIS);
  if (axis < 0) axis += a->out_dims.rank;
  const int32_t *requant = a->arr[0];
  const size_t outer = elems(&a->out_dims, 0) / elems(&a->out_dims, axis), out_inner = elems(&a->out_dims, axis);
  const int32_t dt = a->out_dtype, lo = tcnn_dt_min(dt), hi = tcnn_dt_max(dt);
  size_t start = 0;
  for (int k = 0; k < a->n_in; k++) {
    tcnn_dims d;
    int32_t in_dt;
    const void *x = tcnn_op_input(a->m, a->op, k, &d, &in_dt);
    const size_t inner = elems(&d, axis);
    const int32_t off = requant[3 * k], mult = requant[3 * k + 1], shift = requant[3 * k + 2];
    for (size_t o = 0; o < outer; o++)
      for (size_t i = 0; i < inner; i++) {
        int64_t v = tcnn_ld(x, in_dt, o * inner + i);
        if (mult != 0) v = tcnn_clamp(tcnn_mbqm(v + off, mult, shift) + F(TCNN_CONCATENATION_OUTPUT_OFFSET), lo, hi);
        tcnn_st(a->out, dt, o * out_inner + start + i, v);
      }
    start += inner;
  }
  return 0;
}

/* next multi-index over dims (row-major); returns 0 after the last */
static int next_index(int32_t *idx, const tcnn_dims *d) {
  for (int r = d->rank - 1; r >= 0; r--) {
    if (++idx[r] < d->d[r]) return 1;
    idx[r] = 0;
  }
  return 0;
}

static size_t flat(const int32_t *idx, const tcnn_dims *d) {
  size_t f = 0;
  for (int r = 0; r < d->rank; r++) f = f * (size_t)d->d[r] + (size_t)idx[r];
  return f;
}

int tcnn_pad(const tcnn_op_args *a) {
  const int32_t dt = a->out_dtype;
  const size_t total = elems(&a->out_dims, 0);
  for (size_t i = 0; i < total; i++) tcnn_st(a->out, dt, i, F(TCNN_PAD_PAD_VALUE_Q));
  int32_t idx[TCNN_MAX_RANK] = {0}, o[TCNN_MAX_RANK];
  const int32_t *pads = a->f + TCNN_PAD_PADS + 1;
  size_t i = 0;
  do {
    for (int r = 0; r < a->in_dims[0].rank; r++) o[r] = idx[r] + pads[2 * r];
    tcnn_st(a->out, dt, flat(o, &a->out_dims), tcnn_ld(a->in[0], dt, i++));
  } while (next_index(idx, &a->in_dims[0]));
  return 0;
}

int tcnn_transpose(const tcnn_op_args *a) {
  const int32_t dt = a->out_dtype;
  const int32_t *perm = a->f + TCNN_TRANSPOSE_PERM + 1;
  int32_t idx[TCNN_MAX_RANK] = {0}, src[TCNN_MAX_RANK];
  size_t i = 0;
  do {  /* out[idx] = in[src] with src[perm[r]] = idx[r] */
    for (int r = 0; r < a->out_dims.rank; r++) src[perm[r]] = idx[r];
    tcnn_st(a->out, dt, i++, tcnn_ld(a->in[0], dt, flat(src, &a->in_dims[0])));
  } while (next_index(idx, &a->out_dims));
  return 0;
}

int tcnn_resize_nearest(const tcnn_op_args *a) {
  const tcnn_shape4 is = a->in_shape[0], os = a->out_shape;
  const int32_t fh = F(TCNN_RESIZE_NEAREST_SCALE), fw = F(TCNN_RESIZE_NEAREST_SCALE + 1), dt = a->out_dtype;
  for (int32_t n = 0; n < os.n; n++)
    for (int32_t y = 0; y < os.h; y++)
      for (int32_t xx = 0; xx < os.w; xx++)
        for (int32_t c = 0; c < os.c; c++)
          tcnn_st(a->out, dt, IDX4(os, n, y, xx, c), tcnn_ld(a->in[0], dt, IDX4(is, n, y / fh, xx / fw, c)));
  return 0;
}
