/* tinycnn C runtime: runs a .tcnn (format v3) blob in place. C99, no malloc, no floating point on
 * the int8 paths; the application passes the arena (size: tcnn_arena_required). See
 * docs/blob-format.md and the contract in the C_API section of firmware_sim/c_runtime/README. */
#ifndef TCNN_H
#define TCNN_H

#include <stddef.h>
#include <stdint.h>

#include "tcnn_layout.h"

#define TCNN_MAX_TENSORS 1024
#define TCNN_MAX_OPS 512

enum {
  TCNN_OK = 0, TCNN_E_SIZE = -1, TCNN_E_MAGIC = -2, TCNN_E_VERSION = -3, TCNN_E_CRC = -4,
  TCNN_E_BOUNDS = -5, TCNN_E_COUNT = -6, TCNN_E_SHAPE = -7, TCNN_E_INDEX = -8, TCNN_E_FIELD = -9,
  TCNN_E_UNSUPPORTED = -10, TCNN_E_ARENA = -11, TCNN_E_ALIGN = -12
};

typedef void (*tcnn_layer_hook)(void *ctx, int op_index, int after);

typedef struct tcnn_model {
  const uint8_t *blob;
  size_t blob_size;
  uint8_t *arena;
  size_t arena_size;
  const int32_t *tensors, *ops, *index, *arrays;
  const uint8_t *records, *payload, *quant;
  int32_t n_tensors, n_ops, n_arrays, n_index;
  int32_t n_inputs, inputs, n_outputs, outputs;
  int32_t arena_bytes;          /* the planned activations (stored in the blob) */
  size_t scratch_bytes;         /* kernel scratch after them (im2col columns of the DSP/MVE paths) */
  int16_t *scratch;
  size_t high_water;
} tcnn_model;

size_t      tcnn_arena_required(const uint8_t *blob, size_t blob_size);
int         tcnn_init(tcnn_model *m, const uint8_t *blob, size_t blob_size, uint8_t *arena, size_t arena_size);
const char *tcnn_strerror(int err);
int         tcnn_num_inputs(const tcnn_model *m);
int         tcnn_num_outputs(const tcnn_model *m);
void       *tcnn_input(tcnn_model *m, int i, size_t *nbytes);
const void *tcnn_output(const tcnn_model *m, int i, size_t *nbytes);
int         tcnn_input_dtype(const tcnn_model *m, int i);
int         tcnn_output_dtype(const tcnn_model *m, int i);
int         tcnn_invoke(tcnn_model *m, tcnn_layer_hook hook, void *ctx);
int         tcnn_num_ops(const tcnn_model *m);
const char *tcnn_op_type_name(int op_code);
int         tcnn_op_code(const tcnn_model *m, int op_index);
const char *tcnn_op_name(const tcnn_model *m, int op_index);
uint32_t    tcnn_op_macs(const tcnn_model *m, int op_index);
size_t      tcnn_arena_high_water(const tcnn_model *m);

#endif
