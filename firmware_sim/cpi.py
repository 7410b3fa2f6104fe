"""Cycles per instruction by instruction class, per core: QEMU-measured instruction counts -> cycles.

The classes are those of the emulator's counting plugin (firmware_sim.emulate.CLASSES). Each figure
is the issue cost of the class on that core's pipeline, from the processor's Technical Reference
Manual instruction timing tables (docs/cycle-model.md "tinycnn-c" lists them), assuming zero-wait
memory: weight fetches from flash are charged separately (firmware_sim.memory_cost). ``branch``
averages taken loop branches (pipeline refill) and not-taken forward branches (1 cycle).
"""
from __future__ import annotations

# class: load, store, mul, dsp_mac, simd, branch, mve, fp, other
CPI = {
    # Cortex-M0+ TRM (2-stage): LDR/STR 2, MULS 1 (fast multiplier), B taken 2 / not 1, ALU 1
    "cortex-m0plus": {"load": 2.0, "store": 2.0, "mul": 1.0, "dsp_mac": 1.0, "simd": 1.0, "branch": 1.8,
                      "mve": 1.0, "fp": 1.0, "other": 1.0},
    # Cortex-M0 TRM (3-stage): as M0+ but a taken branch refills 3 stages
    "cortex-m0": {"load": 2.0, "store": 2.0, "mul": 1.0, "dsp_mac": 1.0, "simd": 1.0, "branch": 2.6,
                  "mve": 1.0, "fp": 1.0, "other": 1.0},
    # Cortex-M3 TRM: LDR 2 (N+1 when pipelined), STR 1 (write buffer), MUL 1 / MLA 2 / SMULL 3-5,
    # branch 1 + P (P = 1..3 refill)
    "cortex-m3": {"load": 1.7, "store": 1.0, "mul": 1.8, "dsp_mac": 1.0, "simd": 1.0, "branch": 2.2,
                  "mve": 1.0, "fp": 1.0, "other": 1.0},
    # Cortex-M4 TRM: LDR 2 (N+1 pipelined), STR 1, MUL/MLA/SMLAD/SMLAL 1, SIMD ALU 1, branch 1 + P,
    # VFP: VLDR 2, VADD/VMUL 1, VFMA 3
    "cortex-m4": {"load": 1.7, "store": 1.0, "mul": 1.0, "dsp_mac": 1.0, "simd": 1.0, "branch": 2.2,
                  "mve": 1.0, "fp": 1.5, "other": 1.0},
    # Cortex-M7 TRM: 6-stage dual issue (ALU+ALU, load+ALU pairs), branch prediction (BTAC):
    # effective issue cost below 1 for ALU classes
    "cortex-m7": {"load": 1.0, "store": 1.0, "mul": 1.0, "dsp_mac": 1.0, "simd": 0.6, "branch": 1.2,
                  "mve": 1.0, "fp": 1.0, "other": 0.6},
    # Cortex-M55 TRM: 4-stage scalar pipeline; MVE dual-beat: a 128-bit instruction takes 2 cycles,
    # overlapping the next vector instruction by one beat when load and MAC alternate (1.5 effective);
    # low-overhead loops (LE) cost ~0 after the first iteration (branch 1.5 average)
    "cortex-m55": {"load": 1.5, "store": 1.0, "mul": 1.0, "dsp_mac": 1.0, "simd": 1.0, "branch": 1.5,
                   "mve": 1.5, "fp": 1.0, "other": 1.0},
}

# Cortex-M33 TRM: 3-stage like the M4, with the DSP extension: the same issue costs
CPI["cortex-m33"] = dict(CPI["cortex-m4"])


def core_key(target) -> str | None:
    """The CPI table of a Target (by its name, else its core description), or None."""
    import re
    for text in (target.name, target.core):
        m = re.search(r"cortex-m(\d+)(plus|\+)?", text, re.IGNORECASE)
        if m:
            key = f"cortex-m{m.group(1)}" + ("plus" if m.group(2) else "")
            if key in CPI:
                return key
    return None


def cycles(classes: dict, core: str) -> float:
    """Cycles of one layer's instruction counts by class on ``core``."""
    table = CPI[core]
    return float(sum(n * table[c] for c, n in classes.items()))
