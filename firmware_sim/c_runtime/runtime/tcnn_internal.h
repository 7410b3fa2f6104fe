/* Internal view of a validated model, shared by the runtime and the kernels. */
#ifndef TCNN_INTERNAL_H
#define TCNN_INTERNAL_H

#include "tcnn.h"

/* tensor record word offsets */
enum { T_DTYPE = 0, T_RANK, T_FLAGS, T_SHAPE, T_DATA = 9, T_BYTES, T_QUANT, T_ARENA, T_B1BYTES };
/* op record word offsets */
enum { O_CODE = 0, O_VARIANT, O_NIN, O_IN, O_NOUT, O_OUT, O_FIELDS, O_FBYTES, O_MACS };

#define TCNN_MAX_IN 3

typedef struct { int32_t n, h, w, c; } tcnn_shape4;
typedef struct { int32_t rank, d[TCNN_MAX_RANK]; } tcnn_dims;

typedef struct {
  const tcnn_model *m;
  int op;
  int32_t n_in;
  const void *in[TCNN_MAX_IN];  /* first inputs (activation or constant data) */
  tcnn_shape4 in_shape[TCNN_MAX_IN];
  tcnn_dims in_dims[TCNN_MAX_IN];
  int32_t in_dtype[TCNN_MAX_IN];
  void *out;
  tcnn_shape4 out_shape;
  tcnn_dims out_dims;
  int32_t out_dtype;
  const int32_t *f;             /* the op's fixed record (word 0 = presence mask) */
  const void *arr[4];           /* resolved arrays of the record (multiplier, shift, tables, ...) */
  int32_t arr_dtype[4];
} tcnn_op_args;

static inline const int32_t *tcnn_tensor(const tcnn_model *m, int32_t t) { return m->tensors + t * TCNN_TENSOR_WORDS; }

/* fixed-point helpers, TFLite reference semantics (as tinycnn/fixedpoint.py) */
static inline int64_t tcnn_srdhm(int64_t a, int64_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  const int64_t ab = a * b;
  const int64_t total = ab + (ab >= 0 ? (1LL << 30) : (1 - (1LL << 30)));
  return total >= 0 ? (total >> 31) : -((-total) >> 31);
}
static inline int64_t tcnn_rdbpot(int64_t x, int exponent) {
  const int64_t mask = ((int64_t)1 << exponent) - 1;
  const int64_t remainder = x & mask;
  const int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}
/* shift in [-31, 31] (checked at init). x * 2^left is an int32 in TFLite; a value outside it
 * (only from a blob whose parameters overflow) saturates instead of overflowing int64. */
static inline int64_t tcnn_mbqm(int64_t x, int32_t multiplier, int32_t shift) {
  const int left = shift > 0 ? shift : 0, right = shift < 0 ? -shift : 0;
  const int64_t limit = (int64_t)1 << (62 - 31);
  int64_t v = x > limit ? limit : (x < -limit ? -limit : x);
  v *= (int64_t)1 << left;
  if (v > INT32_MAX) v = INT32_MAX;
  if (v < INT32_MIN) v = INT32_MIN;
  return tcnn_rdbpot(tcnn_srdhm(v, multiplier), right);
}
/* TFLite MultiplyByQuantizedMultiplier(int64_t, int32_t, int) (16x8 weighted ops); shift in
 * [-31, 14] and |x| < 2^47 (checked at init: 16-bit inputs, int8 weights, bounded K) */
static inline int64_t tcnn_mbqm_int64(int64_t x, int32_t multiplier, int32_t shift) {
  const int64_t m = multiplier;
  const int64_t reduced = m < 0x7FFF0000 ? (m + (1 << 15)) >> 16 : 0x7FFF;
  const int64_t total_shift = 15 - (int64_t)shift;
  return (x * reduced + ((int64_t)1 << (total_shift - 1))) >> total_shift;
}
/* int32 addition that wraps (as the int32 accumulators of TFLite and tinycnn's kernels) */
static inline int32_t tcnn_add32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline int32_t tcnn_clamp(int64_t v, int32_t lo, int32_t hi) {
  return (int32_t)(v < lo ? lo : (v > hi ? hi : v));
}

/* dtype-generic element access (activations int8 / int16 / int32 / uint8 / uint32 words) */
static inline int64_t tcnn_ld(const void *p, int32_t dt, size_t i) {
  switch (dt) {
  case TCNN_DT_INT8: return ((const int8_t *)p)[i];
  case TCNN_DT_UINT8: return ((const uint8_t *)p)[i];
  case TCNN_DT_INT16: return ((const int16_t *)p)[i];
  case TCNN_DT_INT32: return ((const int32_t *)p)[i];
  case TCNN_DT_UINT32: return ((const uint32_t *)p)[i];
  case TCNN_DT_INT64: return ((const int64_t *)p)[i];
  default: return 0;
  }
}
static inline void tcnn_st(void *p, int32_t dt, size_t i, int64_t v) {
  switch (dt) {
  case TCNN_DT_INT8: ((int8_t *)p)[i] = (int8_t)v; break;
  case TCNN_DT_UINT8: ((uint8_t *)p)[i] = (uint8_t)v; break;
  case TCNN_DT_INT16: ((int16_t *)p)[i] = (int16_t)v; break;
  case TCNN_DT_INT32: ((int32_t *)p)[i] = (int32_t)v; break;
  case TCNN_DT_UINT32: ((uint32_t *)p)[i] = (uint32_t)v; break;
  default: break;
  }
}
static inline int32_t tcnn_dt_min(int32_t dt) { return dt == TCNN_DT_INT16 ? -32768 : (dt == TCNN_DT_UINT8 ? 0 : -128); }
static inline int32_t tcnn_dt_max(int32_t dt) { return dt == TCNN_DT_INT16 ? 32767 : (dt == TCNN_DT_UINT8 ? 255 : 127); }
static inline size_t tcnn_count(const tcnn_shape4 s) { return (size_t)s.n * s.h * s.w * s.c; }

/* int8 and 16x8 weighted ops (tcnn_s8.c) */
int tcnn_conv_s8(const tcnn_op_args *a);
int tcnn_depthwise_s8(const tcnn_op_args *a);
int tcnn_fc_s8(const tcnn_op_args *a);
int tcnn_conv_s8_w16(const tcnn_op_args *a);  /* int16 weights: legacy uint8 TFLite models */
int tcnn_depthwise_s8_w16(const tcnn_op_args *a);
int tcnn_fc_s8_w16(const tcnn_op_args *a);
int tcnn_conv_s8_s16(const tcnn_op_args *a);  /* 16x8 */
int tcnn_depthwise_s8_s16(const tcnn_op_args *a);
int tcnn_fc_s8_s16(const tcnn_op_args *a);
/* legacy uint8 TFLite, kernel variant "uint8" (tcnn_u8.c) */
int tcnn_conv_s8_u8(const tcnn_op_args *a);
int tcnn_depthwise_s8_u8(const tcnn_op_args *a);
int tcnn_fc_s8_u8(const tcnn_op_args *a);
int tcnn_avg_pool_u8(const tcnn_op_args *a);
/* Armv7E-M DSP paths (tcnn_s8_dsp.c) */
int tcnn_conv_s8_dsp(const tcnn_op_args *a, int16_t *scratch);
int tcnn_fc_s8_dsp(const tcnn_op_args *a, int16_t *scratch);
int tcnn_depthwise_s8_dsp(const tcnn_op_args *a);
/* dtype-generic ops (tcnn_generic.c) */
int tcnn_pool(const tcnn_op_args *a, int is_max);
int tcnn_mean(const tcnn_op_args *a);
int tcnn_add_sub(const tcnn_op_args *a, int sign);
int tcnn_mul(const tcnn_op_args *a);
int tcnn_requantize(const tcnn_op_args *a);
int tcnn_lut_s8(const tcnn_op_args *a);
int tcnn_softmax_s8(const tcnn_op_args *a);
int tcnn_softmax_tflm_s8(const tcnn_op_args *a);
int tcnn_prelu_s8(const tcnn_op_args *a);
int tcnn_concat(const tcnn_op_args *a);
int tcnn_pad(const tcnn_op_args *a);
int tcnn_transpose(const tcnn_op_args *a);
int tcnn_resize_nearest(const tcnn_op_args *a);
/* 1-bit ops (tcnn_binary.c) */
int tcnn_binarize(const tcnn_op_args *a);
int tcnn_binary_conv(const tcnn_op_args *a);
int tcnn_binary_fc(const tcnn_op_args *a);
int tcnn_binary_max_pool(const tcnn_op_args *a);
int tcnn_conv_to_packed(const tcnn_op_args *a);

/* input k of the op (any k, for CONCATENATION): data, dims, dtype */
const void *tcnn_op_input(const tcnn_model *m, int op, int k, tcnn_dims *dims, int32_t *dtype);

/* segmentation / detection ops (tcnn_seg.c): validation at init, then the kernels */
int tcnn_seg_prepare(const tcnn_model *m, tcnn_op_args *a, int32_t code, int32_t variant);
int tcnn_seg_run(const tcnn_op_args *a, int32_t code);
/* Helium / MVE paths (tcnn_s8_mve.c, Cortex-M55) */
int tcnn_conv_s8_mve(const tcnn_op_args *a, int16_t *scratch);
int tcnn_fc_s8_mve(const tcnn_op_args *a);
int tcnn_depthwise_s8_mve(const tcnn_op_args *a);

#endif
