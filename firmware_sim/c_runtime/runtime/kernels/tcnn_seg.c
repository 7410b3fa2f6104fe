/* Segmentation / detection ops (tinycnn/opspec/seg.py, integer semantics in docs/ops.md):
 * RESIZE_BILINEAR, TRANSPOSE_CONV, REDUCE_MEAN, ARG_MAX / ARG_MIN, DEPTH_TO_SPACE, SPACE_TO_DEPTH,
 * STRIDED_SLICE. Bit-exact with tinycnn's Python runtime (tinycnn/kernels/resample.py and the
 * index views of tinycnn/kernels/registry.py), itself bit-exact with TFLite Micro. No floating
 * point, no scratch: TRANSPOSE_CONV gathers each output's int32 sum (the same wrapping int32
 * sum as TFLM's scatter into its accumulator image). tcnn_seg_prepare validates the record,
 * dtypes and shapes at init; tcnn_seg_run runs an op it accepted. */
#include <string.h>

#include "../tcnn_internal.h"

#define F(name) (a->f[name])
#define HAS(name) ((a->f[0] >> name##_BIT) & 1)
#define IDX4(S, N_, Y_, X_, C_) ((((size_t)(N_) * (S).h + (Y_)) * (S).w + (X_)) * (S).c + (C_))

static int in_range(int64_t v, int64_t lo, int64_t hi) { return v >= lo && v <= hi; }

/* an int32 array of the array table with exactly n elements, or NULL */
static const int32_t *i32_array(const tcnn_model *m, int32_t k, int64_t n) {
  if (k < 0 || k >= m->n_arrays) return NULL;
  const int32_t *r = m->arrays + k * TCNN_ARRAY_WORDS;
  if (r[2] != TCNN_DT_INT32 || (int64_t)r[1] != 4 * n) return NULL;
  return (const int32_t *)(m->payload + r[0]);
}

static int64_t elems(const tcnn_dims d) {
  int64_t e = 1;
  for (int r = 0; r < d.rank; r++) e *= d.d[r];
  return e;
}

static int move_dtype(int32_t dt) { return dt == TCNN_DT_INT8 || dt == TCNN_DT_INT16; }
static size_t esize(int32_t dt) { return dt == TCNN_DT_INT16 ? 2 : (dt == TCNN_DT_INT32 ? 4 : 1); }

/* (outer, reduced, inner) of the axes [lo, hi] of d */
static void ori(const tcnn_dims d, int lo, int hi, int64_t *o, int64_t *r, int64_t *in) {
  *o = *r = *in = 1;
  for (int k = 0; k < d.rank; k++) *(k < lo ? o : (k <= hi ? r : in)) *= d.d[k];
}

static int check_resize(const tcnn_op_args *a) {
  if (!HAS(TCNN_RESIZE_BILINEAR_SIZE) || a->in_dims[0].rank != 4 || a->out_dims.rank != 4) return TCNN_E_FIELD;
  const tcnn_shape4 s = a->in_shape[0], o = a->out_shape;
  if (o.n != s.n || o.c != s.c || o.h != F(TCNN_RESIZE_BILINEAR_SIZE) || o.w != F(TCNN_RESIZE_BILINEAR_SIZE + 1) ||
      s.h > (1 << 16) || s.w > (1 << 16) || o.h > (1 << 16) || o.w > (1 << 16)) return TCNN_E_SHAPE;
  return TCNN_OK;
}

static int check_transpose_conv(const tcnn_model *m, tcnn_op_args *a) {
  const int32_t *o = m->ops + a->op * TCNN_OP_WORDS;
  const uint32_t need = 0x1FFu;  /* stride, pad, output_size, offsets, act range, multiplier, shift */
  if (((uint32_t)a->f[0] & need) != need) return TCNN_E_FIELD;
  if (o[O_NIN] < 2 || o[O_NIN] > 3 || !a->in[1] || a->in_dtype[1] != TCNN_DT_INT8) return TCNN_E_UNSUPPORTED;
  const int32_t *wt = tcnn_tensor(m, m->index[o[O_IN] + 1]);
  if (!(wt[T_FLAGS] & 1) || wt[T_RANK] != 4 || a->in_dims[0].rank != 4 || a->out_dims.rank != 4) return TCNN_E_SHAPE;
  const int32_t cout = wt[T_SHAPE], kh = wt[T_SHAPE + 1], kw = wt[T_SHAPE + 2], cin = wt[T_SHAPE + 3];
  const tcnn_shape4 s = a->in_shape[0], y = a->out_shape;
  if (s.c != cin || y.c != cout || y.n != s.n || y.h != F(TCNN_TRANSPOSE_CONV_OUTPUT_SIZE) ||
      y.w != F(TCNN_TRANSPOSE_CONV_OUTPUT_SIZE + 1) || (int64_t)kh * kw * cin > (1 << 20)) return TCNN_E_SHAPE;
  const int32_t *st = a->f + TCNN_TRANSPOSE_CONV_STRIDE, *pad = a->f + TCNN_TRANSPOSE_CONV_PAD;
  if (!in_range(st[0], 1, 4096) || !in_range(st[1], 1, 4096) || !in_range(pad[0], 0, 4096) || !in_range(pad[1], 0, 4096))
    return TCNN_E_FIELD;
  a->in_shape[1] = (tcnn_shape4){cout, kh, kw, cin};
  a->arr[0] = i32_array(m, F(TCNN_TRANSPOSE_CONV_OUTPUT_MULTIPLIER), cout);
  a->arr[1] = i32_array(m, F(TCNN_TRANSPOSE_CONV_OUTPUT_SHIFT), cout);
  if (!a->arr[0] || !a->arr[1]) return TCNN_E_FIELD;
  for (int32_t c = 0; c < cout; c++) if (!in_range(((const int32_t *)a->arr[1])[c], -31, 31)) return TCNN_E_FIELD;
  const int32_t lo = F(TCNN_TRANSPOSE_CONV_ACT_MIN), hi = F(TCNN_TRANSPOSE_CONV_ACT_MAX);
  if (!in_range(F(TCNN_TRANSPOSE_CONV_INPUT_OFFSET), -256, 256) || !in_range(F(TCNN_TRANSPOSE_CONV_OUTPUT_OFFSET), -65536, 65536) ||
      !in_range(lo, -128, 127) || !in_range(hi, lo, 127)) return TCNN_E_FIELD;
  if (o[O_NIN] == 3 && a->in[2]) {
    const int32_t *bt = tcnn_tensor(m, m->index[o[O_IN] + 2]);
    if (bt[T_DTYPE] != TCNN_DT_INT32 || elems(a->in_dims[2]) != cout) return TCNN_E_SHAPE;
  }
  return TCNN_OK;
}

/* axes of REDUCE_MEAN (a contiguous run, not the batch) or the axis of ARG_MAX / ARG_MIN -> [lo, hi] */
static int check_reduce(const tcnn_op_args *a, int32_t code, int *lo, int *hi) {
  const tcnn_dims d = a->in_dims[0];
  int64_t o, r, in;
  if (code == TCNN_OP_REDUCE_MEAN) {
    const uint32_t need = 0x3Du;  /* axes, offsets, multiplier, shift (keep_dims optional) */
    if (((uint32_t)a->f[0] & need) != need) return TCNN_E_FIELD;
    const int32_t *ax = a->f + TCNN_REDUCE_MEAN_AXES;
    if (ax[0] < 1 || ax[0] > d.rank) return TCNN_E_FIELD;
    *lo = d.rank; *hi = -1;
    int seen = 0;
    for (int k = 0; k < ax[0]; k++) {
      if (ax[1 + k] < 1 || ax[1 + k] >= d.rank || (seen >> ax[1 + k] & 1)) return TCNN_E_FIELD;
      seen |= 1 << ax[1 + k];
      if (ax[1 + k] < *lo) *lo = ax[1 + k];
      if (ax[1 + k] > *hi) *hi = ax[1 + k];
    }
    if (*hi - *lo + 1 != ax[0]) return TCNN_E_FIELD;  /* not contiguous */
    if (!in_range(F(TCNN_REDUCE_MEAN_OUTPUT_SHIFT), -31, 31) || !in_range(F(TCNN_REDUCE_MEAN_INPUT_OFFSET), -256, 256) ||
        !in_range(F(TCNN_REDUCE_MEAN_OUTPUT_OFFSET), -65536, 65536)) return TCNN_E_FIELD;
  } else {
    if (!HAS(TCNN_ARG_MAX_AXIS) || !in_range(F(TCNN_ARG_MAX_AXIS), 0, d.rank - 1)) return TCNN_E_FIELD;
    *lo = *hi = F(TCNN_ARG_MAX_AXIS);
  }
  ori(d, *lo, *hi, &o, &r, &in);
  if (elems(a->out_dims) != o * in || r > (1 << 24)) return TCNN_E_SHAPE;
  return TCNN_OK;
}

static int check_block(const tcnn_op_args *a, int32_t code) {
  if (!HAS(TCNN_DEPTH_TO_SPACE_BLOCK) || a->in_dims[0].rank != 4 || a->out_dims.rank != 4) return TCNN_E_FIELD;
  const int32_t b = F(TCNN_DEPTH_TO_SPACE_BLOCK);
  const int32_t mode = HAS(TCNN_DEPTH_TO_SPACE_MODE) ? F(TCNN_DEPTH_TO_SPACE_MODE) : TCNN_BLOCK_MODE_DCR;
  if (!in_range(b, 1, 4096) || !in_range(mode, TCNN_BLOCK_MODE_DCR, TCNN_BLOCK_MODE_CRD) ||
      (code == TCNN_OP_SPACE_TO_DEPTH && mode != TCNN_BLOCK_MODE_DCR)) return TCNN_E_FIELD;
  const tcnn_shape4 s = a->in_shape[0], o = a->out_shape;
  const tcnn_shape4 big = code == TCNN_OP_DEPTH_TO_SPACE ? o : s, small = code == TCNN_OP_DEPTH_TO_SPACE ? s : o;
  if (big.n != small.n || (int64_t)small.h * b != big.h || (int64_t)small.w * b != big.w ||
      (int64_t)big.c * b * b != small.c) return TCNN_E_SHAPE;
  return TCNN_OK;
}

static int check_slice(const tcnn_op_args *a) {
  const tcnn_dims d = a->in_dims[0], o = a->out_dims;
  const int32_t *bg = a->f + TCNN_STRIDED_SLICE_BEGIN, *st = a->f + TCNN_STRIDED_SLICE_STRIDE, *sz = a->f + TCNN_STRIDED_SLICE_SIZE;
  if ((a->f[0] & 7) != 7 || bg[0] != d.rank || st[0] != d.rank || sz[0] != d.rank || o.rank != d.rank) return TCNN_E_FIELD;
  for (int r = 0; r < d.rank; r++) {
    const int64_t k = sz[1 + r] == -1 ? d.d[r] : sz[1 + r];
    const int64_t last = (int64_t)bg[1 + r] + (k - 1) * st[1 + r];
    if (k < 1 || st[1 + r] == 0 || k != o.d[r] || !in_range(bg[1 + r], 0, d.d[r] - 1) || !in_range(last, 0, d.d[r] - 1))
      return TCNN_E_SHAPE;
  }
  return TCNN_OK;
}

int tcnn_seg_prepare(const tcnn_model *m, tcnn_op_args *a, int32_t code, int32_t variant) {
  const int32_t dt_in = a->in_dtype[0], dt = a->out_dtype;
  int lo, hi;
  if (variant != TCNN_VARIANT_NONE) return TCNN_E_UNSUPPORTED;
  switch (code) {
  case TCNN_OP_RESIZE_BILINEAR:
    if (!move_dtype(dt) || dt_in != dt) return TCNN_E_UNSUPPORTED;
    return check_resize(a);
  case TCNN_OP_TRANSPOSE_CONV:
    if (dt_in != TCNN_DT_INT8 || dt != TCNN_DT_INT8) return TCNN_E_UNSUPPORTED;
    return check_transpose_conv(m, a);
  case TCNN_OP_REDUCE_MEAN:
    if (dt_in != TCNN_DT_INT8 || dt != TCNN_DT_INT8) return TCNN_E_UNSUPPORTED;
    return check_reduce(a, code, &lo, &hi);
  case TCNN_OP_ARG_MAX:
  case TCNN_OP_ARG_MIN:
    if (!move_dtype(dt_in) || dt != TCNN_DT_INT32) return TCNN_E_UNSUPPORTED;
    return check_reduce(a, code, &lo, &hi);
  case TCNN_OP_DEPTH_TO_SPACE:
  case TCNN_OP_SPACE_TO_DEPTH:
    if (!move_dtype(dt) || dt_in != dt) return TCNN_E_UNSUPPORTED;
    return check_block(a, code);
  case TCNN_OP_STRIDED_SLICE:
    if (!move_dtype(dt) || dt_in != dt) return TCNN_E_UNSUPPORTED;
    return check_slice(a);
  default:
    return TCNN_E_UNSUPPORTED;  /* float-only ops (their int8 forms are LUTs) and unknown codes */
  }
}

/* TFLite's integer resize positions along one axis: 10-bit position, lower and upper source index */
static void resize_pos(int32_t i, int32_t scale_10, int half, int32_t in_size, int32_t *pos, int32_t *lo, int32_t *hi) {
  *pos = i * scale_10 + (half ? scale_10 / 2 - (1 << 9) : 0);
  *lo = *pos / 1024;  /* C division truncates toward zero, as TFLite's */
  if (*lo < 0) *lo = 0;
  *hi = (*pos + 1023) / 1024;
  if (*hi > in_size - 1) *hi = in_size - 1;
}

static int32_t resize_scale(int32_t in, int32_t out, int align) {
  return align && out > 1 ? ((1 << 10) * (in - 1) + (out - 1) / 2) / (out - 1) : ((1 << 10) * in + out / 2) / out;
}

static int resize_bilinear(const tcnn_op_args *a) {
  const tcnn_shape4 s = a->in_shape[0], o = a->out_shape;
  const int32_t dt = a->out_dtype, qmin = tcnn_dt_min(dt), qmax = tcnn_dt_max(dt);
  const int align = HAS(TCNN_RESIZE_BILINEAR_ALIGN_CORNERS) && F(TCNN_RESIZE_BILINEAR_ALIGN_CORNERS);
  const int half = HAS(TCNN_RESIZE_BILINEAR_HALF_PIXEL_CENTERS) && F(TCNN_RESIZE_BILINEAR_HALF_PIXEL_CENTERS);
  const int32_t sy = resize_scale(s.h, o.h, align), sx = resize_scale(s.w, o.w, align);
  const int64_t one = 1 << 10;
  for (int32_t n = 0; n < o.n; n++)
    for (int32_t oy = 0; oy < o.h; oy++) {
      int32_t py, y0, y1;
      resize_pos(oy, sy, half, s.h, &py, &y0, &y1);
      const int64_t fy = py - one * y0;
      for (int32_t ox = 0; ox < o.w; ox++) {
        int32_t px, x0, x1;
        resize_pos(ox, sx, half, s.w, &px, &x0, &x1);
        const int64_t fx = px - one * x0;
        const int64_t w00 = (one - fy) * (one - fx), w10 = fy * (one - fx), w01 = (one - fy) * fx, w11 = fy * fx;
        for (int32_t c = 0; c < o.c; c++) {
          const int64_t acc = tcnn_ld(a->in[0], dt, IDX4(s, n, y0, x0, c)) * w00 + tcnn_ld(a->in[0], dt, IDX4(s, n, y1, x0, c)) * w10 +
                              tcnn_ld(a->in[0], dt, IDX4(s, n, y0, x1, c)) * w01 + tcnn_ld(a->in[0], dt, IDX4(s, n, y1, x1, c)) * w11;
          const int64_t v = acc > 0 ? (acc + (1 << 19)) >> 20 : -((-acc + (1 << 19)) >> 20);
          tcnn_st(a->out, dt, IDX4(o, n, oy, ox, c), tcnn_clamp(v, qmin, qmax));
        }
      }
    }
  return 0;
}

static int transpose_conv(const tcnn_op_args *a) {
  const int8_t *x = a->in[0], *w = a->in[1];
  const int32_t *bias = a->in[2], *mult = a->arr[0], *shift = a->arr[1];
  int8_t *out = a->out;
  const tcnn_shape4 s = a->in_shape[0], o = a->out_shape;
  const int32_t cout = a->in_shape[1].n, kh = a->in_shape[1].h, kw = a->in_shape[1].w, cin = a->in_shape[1].c;
  const int32_t sh = F(TCNN_TRANSPOSE_CONV_STRIDE), sw = F(TCNN_TRANSPOSE_CONV_STRIDE + 1);
  const int32_t pt = F(TCNN_TRANSPOSE_CONV_PAD), pl = F(TCNN_TRANSPOSE_CONV_PAD + 1);
  const int32_t in_off = F(TCNN_TRANSPOSE_CONV_INPUT_OFFSET), out_off = F(TCNN_TRANSPOSE_CONV_OUTPUT_OFFSET);
  const int32_t lo = F(TCNN_TRANSPOSE_CONV_ACT_MIN), hi = F(TCNN_TRANSPOSE_CONV_ACT_MAX);
  for (int32_t n = 0; n < o.n; n++)
    for (int32_t oy = 0; oy < o.h; oy++)
      for (int32_t ox = 0; ox < o.w; ox++)
        for (int32_t co = 0; co < cout; co++) {
          int32_t acc = 0;  /* oy = iy * sh - pt + ky: every (iy, ky) that scatters into oy */
          for (int32_t ky = 0; ky < kh; ky++) {
            const int32_t ty = oy + pt - ky;
            if (ty < 0 || ty % sh || ty / sh >= s.h) continue;
            for (int32_t kx = 0; kx < kw; kx++) {
              const int32_t tx = ox + pl - kx;
              if (tx < 0 || tx % sw || tx / sw >= s.w) continue;
              const int8_t *xp = x + IDX4(s, n, ty / sh, tx / sw, 0);
              const int8_t *wp = w + (((size_t)co * kh + ky) * kw + kx) * cin;
              int32_t sum = 0;
              for (int32_t ci = 0; ci < cin; ci++) sum = tcnn_add32(sum, ((int32_t)xp[ci] + in_off) * wp[ci]);
              acc = tcnn_add32(acc, sum);
            }
          }
          const int64_t v = tcnn_mbqm((int64_t)acc + (bias ? bias[co] : 0), mult[co], shift[co]) + out_off;
          out[IDX4(o, n, oy, ox, co)] = (int8_t)tcnn_clamp(v, lo, hi);
        }
  return 0;
}

static int reduce(const tcnn_op_args *a, int32_t code) {
  int lo, hi;
  int64_t outer, red, inner;
  check_reduce(a, code, &lo, &hi);
  ori(a->in_dims[0], lo, hi, &outer, &red, &inner);
  const int32_t dt = a->in_dtype[0];
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      const size_t base = (size_t)(o * red * inner + i);
      if (code == TCNN_OP_REDUCE_MEAN) {
        int32_t acc = 0;
        for (int64_t r = 0; r < red; r++) acc = tcnn_add32(acc, ((const int8_t *)a->in[0])[base + (size_t)(r * inner)]);
        const int64_t v = tcnn_mbqm((int64_t)acc + (int64_t)F(TCNN_REDUCE_MEAN_INPUT_OFFSET) * red,
                                    F(TCNN_REDUCE_MEAN_OUTPUT_MULTIPLIER), F(TCNN_REDUCE_MEAN_OUTPUT_SHIFT)) +
                          F(TCNN_REDUCE_MEAN_OUTPUT_OFFSET);
        ((int8_t *)a->out)[o * inner + i] = (int8_t)tcnn_clamp(v, -128, 127);
      } else {
        const int sign = code == TCNN_OP_ARG_MAX ? 1 : -1;
        int64_t best = tcnn_ld(a->in[0], dt, base);
        int32_t idx = 0;
        for (int64_t r = 1; r < red; r++) {
          const int64_t v = tcnn_ld(a->in[0], dt, base + (size_t)(r * inner));
          if (sign * v > sign * best) { best = v; idx = (int32_t)r; }
        }
        ((int32_t *)a->out)[o * inner + i] = idx;
      }
    }
  return 0;
}

static int block_move(const tcnn_op_args *a, int32_t code) {
  const size_t es = esize(a->out_dtype);
  const int32_t b = F(TCNN_DEPTH_TO_SPACE_BLOCK);
  const int crd = HAS(TCNN_DEPTH_TO_SPACE_MODE) && F(TCNN_DEPTH_TO_SPACE_MODE) == TCNN_BLOCK_MODE_CRD;
  const int d2s = code == TCNN_OP_DEPTH_TO_SPACE;
  const tcnn_shape4 big = d2s ? a->out_shape : a->in_shape[0], small = d2s ? a->in_shape[0] : a->out_shape;
  const uint8_t *src = a->in[0];
  uint8_t *dst = a->out;
  for (int32_t n = 0; n < big.n; n++)
    for (int32_t y = 0; y < big.h; y++)
      for (int32_t xx = 0; xx < big.w; xx++)
        for (int32_t c = 0; c < big.c; c++) {
          const int32_t i = y % b, j = xx % b;
          const int32_t sc = crd ? c * b * b + i * b + j : (i * b + j) * big.c + c;
          const size_t kb = IDX4(big, n, y, xx, c), ks = IDX4(small, n, y / b, xx / b, sc);
          if (d2s) memcpy(dst + kb * es, src + ks * es, es);
          else memcpy(dst + ks * es, src + kb * es, es);
        }
  return 0;
}

static int strided_slice(const tcnn_op_args *a) {
  const size_t es = esize(a->out_dtype);
  const tcnn_dims d = a->in_dims[0], o = a->out_dims;
  const int32_t *bg = a->f + TCNN_STRIDED_SLICE_BEGIN + 1, *st = a->f + TCNN_STRIDED_SLICE_STRIDE + 1;
  int64_t stride[TCNN_MAX_RANK];  /* element strides of the input */
  int32_t k[TCNN_MAX_RANK] = {0};
  int64_t acc = 1;
  for (int r = d.rank - 1; r >= 0; r--) { stride[r] = acc; acc *= d.d[r]; }
  const int64_t total = elems(o);
  for (int64_t e = 0; e < total; e++) {
    int64_t src = 0;
    for (int r = 0; r < d.rank; r++) src += ((int64_t)bg[r] + (int64_t)k[r] * st[r]) * stride[r];
    memcpy((uint8_t *)a->out + (size_t)e * es, (const uint8_t *)a->in[0] + (size_t)src * es, es);
    for (int r = d.rank - 1; r >= 0 && ++k[r] == o.d[r]; r--) k[r] = 0;  /* next output index */
  }
  return 0;
}

int tcnn_seg_run(const tcnn_op_args *a, int32_t code) {
  switch (code) {
  case TCNN_OP_RESIZE_BILINEAR: return resize_bilinear(a);
  case TCNN_OP_TRANSPOSE_CONV: return transpose_conv(a);
  case TCNN_OP_REDUCE_MEAN:
  case TCNN_OP_ARG_MAX:
  case TCNN_OP_ARG_MIN: return reduce(a, code);
  case TCNN_OP_DEPTH_TO_SPACE:
  case TCNN_OP_SPACE_TO_DEPTH: return block_move(a, code);
  case TCNN_OP_STRIDED_SLICE: return strided_slice(a);
  default: return TCNN_E_UNSUPPORTED;
  }
}
