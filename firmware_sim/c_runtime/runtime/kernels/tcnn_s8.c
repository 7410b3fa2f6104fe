/* Portable int8 kernels, bit-exact with tinycnn's Python runtime (and so with TFLite Micro's
 * reference kernels): int32 accumulation, TFLite fixed-point requantization. No floating point. */
#include "../tcnn_internal.h"

#define F(name) (a->f[name])
#define IDX4(S, N_, Y_, X_, C_) ((((size_t)(N_) * (S).h + (Y_)) * (S).w + (X_)) * (S).c + (C_))

#define W_T int8_t
#define TCNN_S8_NAME(f) f
#include "tcnn_s8_impl.h"
#undef W_T
#undef TCNN_S8_NAME

#define W_T int16_t
#define TCNN_S8_NAME(f) f##_w16
#include "tcnn_s8_impl.h"
#undef W_T
#undef TCNN_S8_NAME
