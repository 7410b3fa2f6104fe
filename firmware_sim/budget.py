"""SRAM / flash budget of a simulated model: what the chosen stack needs against what the target has.

SRAM needed = the stack's arena + the target's ``stack_reserve_kib`` (call stack, runtime
globals, I/O buffers outside the arena). A model fits only if it needs strictly less than the
target has: 100.0% is a FAIL, because a firmware with zero bytes spare does not link or boot.
The arena is our planned arena for ``tinycnn-c`` and TFLM's arena (firmware_sim.tflm_arena)
for the TFLM-based stacks (``cmsis-nn``, ``tflm-reference``, ``naive``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tinycnn.errors import BudgetExceededError


def kib(n) -> str:
    return f"{n / 1024:.1f} KiB"


@dataclass
class Budget:
    sram_needed: int
    sram_detail: str
    sram_budget: int
    flash_needed: int
    flash_detail: str
    flash_budget: int
    peak_layer: str
    problems: list = field(default_factory=list)

    @property
    def fits(self) -> bool:
        return not self.problems

    def lines(self) -> list:
        """One FAIL line naming each overrun, or nothing."""
        return [f"FAIL: model does not fit: {p}" for p in self.problems]


def check(target, arena_bytes, arena_what, peak_layer, flash_bytes, flash_detail, weights_in_sram=0) -> Budget:
    """weights_in_sram: weight bytes a "sram-copy" target copies to SRAM at boot."""
    reserve = target.stack_reserve_bytes
    sram = arena_bytes + reserve + weights_in_sram
    copied = f" + weights copied to SRAM {kib(weights_in_sram)}" if weights_in_sram else ""
    b = Budget(sram, f"{arena_what} {kib(arena_bytes)}{copied} + stack/runtime reserve {kib(reserve)}",
               target.sram_bytes, flash_bytes, flash_detail, target.flash_bytes, peak_layer)
    if sram >= target.sram_bytes:
        b.problems.append(
            f"needs {kib(sram)} SRAM ({b.sram_detail}; arena peak at layer {peak_layer}); {target.name} has "
            f"{kib(target.sram_bytes)} (over by {kib(sram - target.sram_bytes)}"
            + (", 100.0% leaves nothing spare)" if sram == target.sram_bytes else ")"))
    if flash_bytes >= target.flash_bytes:
        b.problems.append(f"needs {kib(flash_bytes)} flash ({flash_detail}); {target.name} has "
                          f"{kib(target.flash_bytes)} (over by {kib(flash_bytes - target.flash_bytes)})")
    return b


def raise_if_over(budget: Budget, report) -> None:
    if budget.problems:
        exc = BudgetExceededError("model does not fit: " + "; ".join(budget.problems))
        exc.report = report  # the full report (per-layer table) for the CLI to print
        raise exc
