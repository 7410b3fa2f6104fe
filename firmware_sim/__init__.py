"""Simulate a .tcnn blob on a microcontroller target: arena planning (one SRAM buffer), flash and
SRAM budgets, a device run on the arena bit-identical to the CPU runtime, and an estimated
per-layer cycle count. See docs/firmware-sim.md and docs/cycle-model.md."""
from firmware_sim.targets import Target, get_target, load_targets


def simulate(blob_path, target="cortex-m4", clock_mhz=None, **kwargs):
    """See firmware_sim.simulation.simulate."""
    from firmware_sim.simulation import simulate as _simulate
    return _simulate(blob_path, target, clock_mhz, **kwargs)


__all__ = ["simulate", "Target", "get_target", "load_targets"]
