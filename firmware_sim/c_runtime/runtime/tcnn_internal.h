/* Internal view of a validated model, shared by the runtime and the kernels. */
#ifndef TCNN_INTERNAL_H
#define TCNN_INTERNAL_H

#include "tcnn.h"

/* tensor record word offsets */
enum { T_DTYPE = 0, T_RANK, T_FLAGS, T_SHAPE, T_DATA = 9, T_BYTES, T_QUANT, T_ARENA, T_B1BYTES };
/* op record word offsets */
enum { O_CODE = 0, O_VARIANT, O_NIN, O_IN, O_NOUT, O_OUT, O_FIELDS, O_FBYTES, O_MACS };

typedef struct { int32_t n, h, w, c; } tcnn_shape4;

typedef struct {
  const void *in[3];            /* first inputs (activation or constant data) */
  tcnn_shape4 in_shape[3];
  int32_t in_dtype[3];
  void *out;
  tcnn_shape4 out_shape;
  const int32_t *f;             /* the op's fixed record (word 0 = presence mask) */
  const int32_t *arr[4];        /* resolved int32 arrays of the record (multiplier, shift, ...) */
} tcnn_op_args;

static inline const int32_t *tcnn_tensor(const tcnn_model *m, int32_t t) { return m->tensors + t * TCNN_TENSOR_WORDS; }

/* fixed-point helpers, TFLite reference semantics (as tinycnn/fixedpoint.py) */
static inline int64_t tcnn_srdhm(int64_t a, int64_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  int64_t ab = a * b;
  int64_t total = ab + (ab >= 0 ? (1LL << 30) : (1 - (1LL << 30)));
  return total >= 0 ? (total >> 31) : -((-total) >> 31);
}
static inline int64_t tcnn_rdbpot(int64_t x, int exponent) {
  int64_t mask = ((int64_t)1 << exponent) - 1;
  int64_t remainder = x & mask;
  int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}
static inline int64_t tcnn_mbqm(int64_t x, int32_t multiplier, int32_t shift) {
  int left = shift > 0 ? shift : 0, right = shift < 0 ? -shift : 0;
  return tcnn_rdbpot(tcnn_srdhm(x * ((int64_t)1 << left), multiplier), right);
}
static inline int32_t tcnn_clamp(int64_t v, int32_t lo, int32_t hi) {
  return (int32_t)(v < lo ? lo : (v > hi ? hi : v));
}

int tcnn_conv_s8(const tcnn_op_args *a);
int tcnn_depthwise_s8(const tcnn_op_args *a);
int tcnn_fc_s8(const tcnn_op_args *a);
int tcnn_max_pool_s8(const tcnn_op_args *a);
int tcnn_avg_pool_s8(const tcnn_op_args *a);
int tcnn_mean_s8(const tcnn_op_args *a);
int tcnn_add_sub_s8(const tcnn_op_args *a, int sign);
int tcnn_mul_s8(const tcnn_op_args *a);
int tcnn_requantize_s8(const tcnn_op_args *a);
int tcnn_lut_s8(const tcnn_op_args *a);

#endif
