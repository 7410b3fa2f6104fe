/* Board support used by main.c: file I/O (semihosting on the emulated boards, stdio on the host),
 * a free-running tick counter (SysTick on Cortex-M) and the layer marker the TCG plugin watches. */
#ifndef TCNN_BOARD_H
#define TCNN_BOARD_H

#include <stddef.h>
#include <stdint.h>

int      board_open(const char *path, int write);                 /* handle >= 0, or -1 */
long     board_read(int h, void *buf, size_t n);                  /* bytes read */
long     board_write(int h, const void *buf, size_t n);           /* bytes written */
void     board_close(int h);
void     board_puts(const char *s);                               /* to the console */
uint64_t board_ticks(void);                                       /* SysTick ticks since start (0 on host) */
uint32_t board_tick_hz(void);                                     /* SysTick clock (0 on host) */
void     board_mark(void);                                        /* layer boundary for the plugin */
void     board_exit(int status) __attribute__((noreturn));

#endif
