/* Cortex-M startup for the QEMU MPS2/MPS3 machines: vector table, copy .data from flash, zero .bss,
 * enable the FPU (and with it MVE on the M55), start SysTick, run main, exit through semihosting. */
#include <stdint.h>

#include "board.h"

extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss;
extern int main(void);
void board_systick_start(void);
void SysTick_Handler(void);

void Reset_Handler(void) {
  for (uint32_t *s = &_sidata, *d = &_sdata; d < &_edata;) *d++ = *s++;
  for (uint32_t *d = &_sbss; d < &_ebss;) *d++ = 0;
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
  *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;  /* CPACR: CP10/CP11 full access */
  __asm__ volatile("dsb\n isb" ::: "memory");
#endif
  board_systick_start();
  board_exit(main());
}

static void Fault_Handler(void) {
  board_puts("tcnn board: fault (HardFault/MemManage/BusFault/UsageFault)\n");
  board_exit(99);
}

__attribute__((section(".isr_vector"), used)) static void (*const vectors[16])(void) = {
  (void (*)(void))&_estack, Reset_Handler, Fault_Handler /* NMI */, Fault_Handler, Fault_Handler,
  Fault_Handler, Fault_Handler, Fault_Handler /* SecureFault */, 0, 0, 0, Fault_Handler /* SVC */,
  Fault_Handler /* DebugMon */, 0, Fault_Handler /* PendSV */, SysTick_Handler,
};
