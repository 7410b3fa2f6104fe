/* Portable weighted kernels, bit-exact with tinycnn's Python runtime (and so with TFLite Micro's
 * reference kernels): int8 (int32 sums) and 16x8 (int64 sums), TFLite fixed-point requantization.
 * No floating point. */
#include "../tcnn_internal.h"

#define F(name) (a->f[name])
#define IDX4(S, N_, Y_, X_, C_) ((((size_t)(N_) * (S).h + (Y_)) * (S).w + (X_)) * (S).c + (C_))

#define X_T int8_t
#define OUT_T int8_t
#define ACC_T int32_t
#define ACC_ADD tcnn_add32
#define BIAS(oc) ((const int32_t *)a->in[2])[oc]
#define REQUANT tcnn_mbqm

#define W_T int8_t
#define TCNN_S8_NAME(f) f
#include "tcnn_s8_impl.h"
#undef W_T
#undef TCNN_S8_NAME

#define W_T int16_t  /* legacy uint8 TFLite models: (uint8 weight - zero point) as int16 */
#define TCNN_S8_NAME(f) f##_w16
#include "tcnn_s8_impl.h"
#undef W_T
#undef TCNN_S8_NAME
#undef X_T
#undef OUT_T
#undef ACC_T
#undef ACC_ADD
#undef BIAS
#undef REQUANT

/* 16x8: int16 activations (zero point 0, checked at init), int8 weights, int32/int64 bias, int64
 * sums and TFLite's int64 MultiplyByQuantizedMultiplier, as tinycnn/kernels/int16.py */
#define X_T int16_t
#define W_T int8_t
#define OUT_T int16_t
#define ACC_T int64_t
#define ACC_ADD(a_, b_) ((a_) + (b_))
#define BIAS(oc) tcnn_ld(a->in[2], a->in_dtype[2], (size_t)(oc))
#define REQUANT tcnn_mbqm_int64
#define TCNN_S8_NAME(f) f##_s16
#include "tcnn_s8_impl.h"
