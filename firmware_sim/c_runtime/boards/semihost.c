/* Cortex-M board: Arm semihosting (BKPT 0xAB; QEMU -semihosting-config enable=on,target=native)
 * for files and exit status, SysTick as a 64-bit tick counter, and the layer marker. */
#include <string.h>

#include "board.h"

enum { SYS_OPEN = 0x01, SYS_CLOSE = 0x02, SYS_WRITE0 = 0x04, SYS_WRITE = 0x05, SYS_READ = 0x06,
       SYS_EXIT = 0x18, SYS_EXIT_EXTENDED = 0x20 };

static inline long semihost(long op, const void *arg) {
  register long r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

int board_open(const char *path, int write) {
  const long args[3] = {(long)path, write ? 6 : 1 /* "wb" : "rb" */, (long)strlen(path)};
  return (int)semihost(SYS_OPEN, args);
}
long board_read(int h, void *buf, size_t n) {
  const long args[3] = {h, (long)buf, (long)n};
  return (long)n - semihost(SYS_READ, args);   /* returns the bytes NOT read */
}
long board_write(int h, const void *buf, size_t n) {
  const long args[3] = {h, (long)buf, (long)n};
  return (long)n - semihost(SYS_WRITE, args);
}
void board_close(int h) { const long args[1] = {h}; semihost(SYS_CLOSE, args); }
void board_puts(const char *s) { semihost(SYS_WRITE0, s); }

void board_exit(int status) {
  const long args[2] = {0x20026 /* ADP_Stopped_ApplicationExit */, status};
  semihost(SYS_EXIT_EXTENDED, args);
  for (;;) semihost(SYS_EXIT, (const void *)0x20026);
}

/* SysTick: 24-bit down counter on the processor clock, reload 0xFFFFFF; its interrupt counts wraps. */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
static volatile uint32_t systick_wraps;

void SysTick_Handler(void) { systick_wraps++; }

void board_systick_start(void) {
  SYST_RVR = 0xFFFFFFu;
  SYST_CVR = 0;
  SYST_CSR = 7u;  /* processor clock, interrupt, enable */
}

uint64_t board_ticks(void) {
  uint32_t w, v;
  do { w = systick_wraps; v = SYST_CVR; } while (w != systick_wraps);
  return ((uint64_t)w << 24) + (0xFFFFFFu - v);
}

uint32_t board_tick_hz(void) { return BOARD_CPU_HZ; }

/* The TCG plugin (plugin/tcnn_insn_plugin.c) snapshots its counters whenever this function's
 * first instruction executes: main.c calls it right before and right after every op. */
__attribute__((noinline, used)) void board_mark(void) { __asm__ volatile("" ::: "memory"); }
