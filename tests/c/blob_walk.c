/* Walks a .tcnn (format v3) blob in place, as a C runtime would: no parser, no allocation
 * besides reading the file. Prints one line per tensor and per op, then decodes the first CONV_2D
 * completely (every field, its weights, bias and per-channel multiplier/shift arrays);
 * tests/test_blob.py compares the lines with the Python reader.
 * Build: gcc -std=c11 -O1 -I firmware_sim/c_runtime/runtime -o blob_walk blob_walk.c */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcnn_layout.h"

typedef struct { char magic[4]; uint16_t version, header_size; uint32_t total, crc, flags;
                 int32_t sec[TCNN_NUM_SECTIONS][2];
                 int32_t arena_bytes, n_inputs, inputs, n_outputs, outputs, reserved; } Header;
typedef struct { int32_t dtype, rank, flags, shape[TCNN_MAX_RANK], data_off, data_bytes, quant, arena,
                 batch1_bytes, reserved[2]; } TensorRec;
typedef struct { int32_t code, variant, n_inputs, inputs, n_outputs, outputs, fields, fields_bytes,
                 macs, reserved; } OpRec;
typedef struct { int32_t off, nbytes, dtype, rank, shape[4]; } ArrayRec;
_Static_assert(sizeof(Header) == TCNN_HEADER_BYTES, "header");
_Static_assert(sizeof(TensorRec) == 4 * TCNN_TENSOR_WORDS, "tensor");
_Static_assert(sizeof(OpRec) == 4 * TCNN_OP_WORDS, "op");
_Static_assert(sizeof(ArrayRec) == 4 * TCNN_ARRAY_WORDS, "array");

static uint32_t crc32(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) { c ^= p[i]; for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & -(c & 1)); }
  return ~c;
}

static const uint8_t *buf;
static const Header *h;
static const void *section(int s) { return buf + h->sec[s][0]; }

static void print_array(const char *name, int32_t k) {
  const ArrayRec *a = (const ArrayRec *)section(TCNN_SEC_ARRAYS) + k;
  const int32_t *v = (const int32_t *)((const uint8_t *)section(TCNN_SEC_PAYLOAD) + a->off);
  printf(" %s=", name);
  for (int32_t i = 0; i < a->nbytes / 4; i++) printf("%s%d", i ? "," : "", v[i]);
}

static long long sum_tensor(const TensorRec *t) {
  const uint8_t *p = (const uint8_t *)section(TCNN_SEC_PAYLOAD) + t->data_off;
  long long s = 0;
  if (t->dtype == TCNN_DT_INT8) for (int32_t i = 0; i < t->data_bytes; i++) s += (int8_t)p[i];
  if (t->dtype == TCNN_DT_INT32) for (int32_t i = 0; i < t->data_bytes / 4; i++) s += ((const int32_t *)p)[i];
  return s;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  FILE *f = fopen(argv[1], "rb"); if (!f) return 2;
  fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
  uint8_t *data = malloc((size_t)n); if (fread(data, 1, (size_t)n, f) != (size_t)n) return 2; fclose(f);
  buf = data; h = (const Header *)buf;
  if (memcmp(h->magic, "TCNN", 4) || h->version != TCNN_VERSION || h->total != (uint32_t)n) { puts("bad header"); return 1; }
  if (crc32(buf + h->header_size, (size_t)n - h->header_size) != h->crc) { puts("bad crc"); return 1; }
  const int32_t *index = section(TCNN_SEC_INDEX);
  const TensorRec *t = section(TCNN_SEC_TENSORS);
  for (int32_t i = 0; i < h->sec[TCNN_SEC_TENSORS][1]; i++) {
    printf("tensor %d dtype=%d shape=", i, t[i].dtype);
    for (int r = 0; r < t[i].rank; r++) printf("%s%d", r ? "x" : "", t[i].shape[r]);
    if (t[i].flags & 1) printf(" const=%d", t[i].data_bytes);
    if (t[i].flags & 2) printf(" qcount=%d", *(const int32_t *)((const uint8_t *)section(TCNN_SEC_QUANT) + t[i].quant));
    if (t[i].arena >= 0) printf(" arena=%d", t[i].arena);
    printf("\n");
  }
  const OpRec *o = section(TCNN_SEC_OPS);
  int conv = -1;
  for (int32_t i = 0; i < h->sec[TCNN_SEC_OPS][1]; i++) {
    printf("op %d code=%d variant=%d inputs=", i, o[i].code, o[i].variant);
    for (int k = 0; k < o[i].n_inputs; k++) printf("%s%d", k ? "," : "", index[o[i].inputs + k]);
    printf(" outputs=");
    for (int k = 0; k < o[i].n_outputs; k++) printf("%s%d", k ? "," : "", index[o[i].outputs + k]);
    printf("\n");
    if (conv < 0 && o[i].code == TCNN_OP_CONV_2D) conv = i;
  }
  if (conv >= 0) {
    const int32_t *r = (const int32_t *)((const uint8_t *)section(TCNN_SEC_RECORDS) + o[conv].fields);
    const int32_t *in = index + o[conv].inputs;
    printf("conv %d stride=%d,%d dilation=%d,%d pad=%d,%d,%d,%d groups=%d input_offset=%d output_offset=%d "
           "act_min=%d act_max=%d", conv, r[TCNN_CONV_2D_STRIDE], r[TCNN_CONV_2D_STRIDE + 1],
           r[TCNN_CONV_2D_DILATION], r[TCNN_CONV_2D_DILATION + 1], r[TCNN_CONV_2D_PAD], r[TCNN_CONV_2D_PAD + 1],
           r[TCNN_CONV_2D_PAD + 2], r[TCNN_CONV_2D_PAD + 3], r[TCNN_CONV_2D_GROUPS], r[TCNN_CONV_2D_INPUT_OFFSET],
           r[TCNN_CONV_2D_OUTPUT_OFFSET], r[TCNN_CONV_2D_ACT_MIN], r[TCNN_CONV_2D_ACT_MAX]);
    print_array("multiplier", r[TCNN_CONV_2D_OUTPUT_MULTIPLIER]);
    print_array("shift", r[TCNN_CONV_2D_OUTPUT_SHIFT]);
    printf(" weights_sum=%lld bias_sum=%lld\n", sum_tensor(t + in[1]), sum_tensor(t + in[2]));
  }
  printf("arena=%d\n", h->arena_bytes);
  free(data);
  return 0;
}
