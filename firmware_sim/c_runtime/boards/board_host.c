/* Host board (TARGET=host): stdio files, no tick counter. */
#include <stdio.h>
#include <stdlib.h>

#include "board.h"

#define MAX_FILES 8
static FILE *files[MAX_FILES];

int board_open(const char *path, int write) {
  for (int h = 0; h < MAX_FILES; h++)
    if (!files[h]) { files[h] = fopen(path, write ? "wb" : "rb"); return files[h] ? h : -1; }
  return -1;
}
long board_read(int h, void *buf, size_t n) { return (long)fread(buf, 1, n, files[h]); }
long board_write(int h, const void *buf, size_t n) { return (long)fwrite(buf, 1, n, files[h]); }
void board_close(int h) { fclose(files[h]); files[h] = NULL; }
void board_puts(const char *s) { fputs(s, stdout); }
uint64_t board_ticks(void) { return 0; }
uint32_t board_tick_hz(void) { return 0; }
void board_mark(void) {}
void board_exit(int status) { fflush(stdout); exit(status); }
