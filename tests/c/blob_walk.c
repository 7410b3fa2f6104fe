/* Walks a .tcnn (format v2) blob in place, as a C runtime would: no parser, no allocation
 * besides reading the file. Prints one line per tensor and per op; tests/test_blob.py compares
 * the lines with the Python reader. Build: gcc -std=c11 -O1 -o blob_walk blob_walk.c */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { char magic[4]; uint16_t version, header_size; uint32_t total, crc;
                 uint32_t strings_off, strings_size, tensors_off, tensor_count, ops_off, op_count,
                          words_off, words_size, payload_off, payload_size, meta_off, meta_size,
                          io_off, reserved; } Header;
typedef struct { uint32_t name; uint8_t dtype, rank, flags, pad; int32_t shape[6];
                 uint32_t quant_off, data_off, data_nbytes, reserved; } TensorRec;
typedef struct { uint16_t op; uint8_t n_inputs, n_outputs; uint32_t name, inputs_off, outputs_off,
                 attrs_off, params_off; } OpRec;
_Static_assert(sizeof(Header) == 72, "header"); _Static_assert(sizeof(TensorRec) == 48, "tensor");
_Static_assert(sizeof(OpRec) == 24, "op");

static uint32_t crc32(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) { c ^= p[i]; for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & -(c & 1)); }
  return ~c;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  FILE *f = fopen(argv[1], "rb"); if (!f) return 2;
  fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc((size_t)n); if (fread(buf, 1, (size_t)n, f) != (size_t)n) return 2; fclose(f);
  const Header *h = (const Header *)buf;
  if (memcmp(h->magic, "TCNN", 4) || h->version != 2 || h->total != (uint32_t)n) { puts("bad header"); return 1; }
  if (crc32(buf + h->header_size, (size_t)n - h->header_size) != h->crc) { puts("bad crc"); return 1; }
  const char *strings = (const char *)buf + h->strings_off;
  const uint8_t *words = buf + h->words_off;
  const TensorRec *t = (const TensorRec *)(buf + h->tensors_off);
  for (uint32_t i = 0; i < h->tensor_count; i++) {
    printf("tensor %s dtype=%u shape=", strings + t[i].name, t[i].dtype);
    for (int r = 0; r < t[i].rank; r++) printf("%s%d", r ? "x" : "", t[i].shape[r]);
    if (t[i].flags & 1) printf(" const=%u", t[i].data_nbytes);
    if (t[i].flags & 2) { const uint32_t *q = (const uint32_t *)(words + t[i].quant_off);
                          printf(" qcount=%u", q[0]); }
    printf("\n");
  }
  const OpRec *o = (const OpRec *)(buf + h->ops_off);
  for (uint32_t i = 0; i < h->op_count; i++) {
    const int32_t *in = (const int32_t *)(words + o[i].inputs_off);
    const uint32_t *attrs = (const uint32_t *)(words + o[i].attrs_off);
    printf("op %s code=%u inputs=", strings + o[i].name, o[i].op);
    for (int k = 0; k < o[i].n_inputs; k++) printf("%s%d", k ? "," : "", in[k]);
    printf(" attrs=%u\n", attrs[0]);
  }
  free(buf);
  return 0;
}
