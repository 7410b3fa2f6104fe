/* Host test driver: run_model BLOB IN.bin OUT.bin — reads int8 inputs (batch-1 samples back to back,
 * all graph inputs concatenated per sample), runs each sample, writes the outputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcnn.h"

static uint8_t arena[4 << 20] __attribute__((aligned(16)));

int main(int argc, char **argv) {
  if (argc != 4) return 2;
  FILE *f = fopen(argv[1], "rb"); if (!f) return 2;
  fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
  uint8_t *blob = malloc((size_t)n);  /* glibc: 16-byte aligned */
  if (fread(blob, 1, (size_t)n, f) != (size_t)n) return 2;
  fclose(f);
  tcnn_model m;
  int err = tcnn_init(&m, blob, (size_t)n, arena, sizeof(arena));
  if (err) { fprintf(stderr, "tcnn_init: %s\n", tcnn_strerror(err)); return 3; }
  FILE *in = fopen(argv[2], "rb"), *out = fopen(argv[3], "wb");
  if (!in || !out) return 2;
  for (;;) {
    for (int i = 0; i < tcnn_num_inputs(&m); i++) {
      size_t nb; void *p = tcnn_input(&m, i, &nb);
      if (fread(p, 1, nb, in) != nb) goto done;
    }
    if ((err = tcnn_invoke(&m, NULL, NULL))) { fprintf(stderr, "tcnn_invoke: %s\n", tcnn_strerror(err)); return 4; }
    for (int i = 0; i < tcnn_num_outputs(&m); i++) {
      size_t nb; const void *p = tcnn_output(&m, i, &nb);
      fwrite(p, 1, nb, out);
    }
  }
done:
  fclose(in); fclose(out);
  printf("ops=");
  for (int i = 0; i < tcnn_num_ops(&m); i++)
    printf("%s%s:%s:%lu", i ? "," : "", tcnn_op_name(&m, i), tcnn_op_type_name(tcnn_op_code(&m, i)),
           (unsigned long)tcnn_op_macs(&m, i));
  printf("\n");
  printf("arena=%lu high_water=%lu\n", (unsigned long)tcnn_arena_required(blob, (size_t)n),
         (unsigned long)tcnn_arena_high_water(&m));
  free(blob);
  return 0;
}
