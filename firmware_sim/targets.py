"""Named microcontroller targets: core, clock, SRAM/flash budgets and a cycle cost model.

Built-in targets are one TOML file each in ``firmware_sim/targets/``. Users add their own with a
TOML or JSON file (``--target-file``) holding either one target (top-level keys) or several
(``[[target]]`` tables / ``{"targets": [...]}``). A user target may say ``base = "cortex-m4"``
to inherit every field it does not set (including the ``[cost]`` table, key by key).
"""
from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from firmware_sim.memory_cost import MEMORY_DEFAULTS, PLACEMENTS
from tinycnn.errors import TinyCNNError

TARGET_DIR = Path(__file__).parent / "targets"

# cost-model keys (cycles unless stated); see docs/cycle-model.md for their derivation
COST_KEYS = (
    "simd_lanes", "scalar_cycles_per_mac", "conv_cycles_per_mac", "conv_1x1_cycles_per_mac",
    "depthwise_3x3_cycles_per_mac", "depthwise_cycles_per_mac", "fully_connected_cycles_per_mac",
    "requant_cycles_per_output", "elementwise_cycles_per_element", "lut_cycles_per_element",
    "pool_cycles_per_tap", "copy_cycles_per_byte", "softmax_cycles_per_element",
    "layer_overhead_cycles", "popcount_cycles_per_word", "word_bits", "naive_cycles_per_mac",
    "memory_stall_factor",
)
# dtype-class keys (16x8 and float32 layers, docs/cycle-model.md): optional in user target files;
# a missing one is derived from the int8 keys by the default below (Cortex-M4-like ratios)
DTYPE_COST_DEFAULTS = {
    "int16x8_mac_factor": lambda c: 1.0,
    "int16x8_depthwise_factor": lambda c: 1.8,
    "int16x8_requant_cycles_per_output": lambda c: 2 * c["requant_cycles_per_output"],
    "int16x8_int32_reduction_limit": lambda c: 512,
    "int16x8_reference_kernels": lambda c: 0,
    "float_cycles_per_mac": lambda c: 2.5 * c["conv_cycles_per_mac"],
    "float_depthwise_cycles_per_mac": lambda c: 2.0 * c["depthwise_cycles_per_mac"],
    "float_cycles_per_element": lambda c: 0.3 * c["elementwise_cycles_per_element"],
    "float_exp_cycles_per_element": lambda c: 1.5 * c["softmax_cycles_per_element"],
}
REQUIRED = ("name", "core", "clock_mhz", "sram_kib", "flash_kib")
CMSIS_NN_BACKENDS = ("mve", "dsp", "scalar")
DEFAULT_STACK_RESERVE_KIB = 4  # a user target without stack_reserve_kib keeps 4 KiB for the stack


@dataclass
class Target:
    name: str
    core: str
    clock_mhz: float
    sram_bytes: int
    flash_bytes: int
    board: str = ""
    runtime_flash_bytes: int = 0  # interpreter/runtime code, estimate
    kernel_flash_bytes: int = 0  # per distinct op kind linked in, estimate
    library: str = "CMSIS-NN-class optimized int8 kernels"
    cost: dict = field(default_factory=dict)
    source: str = ""
    stack_reserve_bytes: int = 0  # SRAM kept free of the arena: call stack, runtime globals, I/O
    cmsis_nn_backend: str = "dsp"  # which CMSIS-NN code path the core takes: mve | dsp | scalar
    memory: dict = field(default_factory=lambda: dict(MEMORY_DEFAULTS))  # weight placement (memory_cost.py)

    def with_clock(self, clock_mhz) -> "Target":
        if clock_mhz is None:
            return self
        if not clock_mhz > 0:
            raise TinyCNNError(f"clock must be positive, got {clock_mhz} MHz")
        return Target(**{**self.__dict__, "clock_mhz": float(clock_mhz)})

    def to_json(self) -> dict:
        d = dict(self.__dict__)
        d["cost"] = dict(self.cost)
        d["memory"] = dict(self.memory)
        return d


def _from_dict(d: dict, source: str, known: dict) -> Target:
    if "base" in d:
        base = known.get(d["base"])
        if base is None:
            raise TinyCNNError(f"{source}: target '{d.get('name')}' has base '{d['base']}', which is not "
                               f"a known target ({', '.join(sorted(known))})")
        merged = {"name": base.name, "core": base.core, "clock_mhz": base.clock_mhz,
                  "sram_kib": base.sram_bytes / 1024, "flash_kib": base.flash_bytes / 1024,
                  "board": base.board, "runtime_flash_kib": base.runtime_flash_bytes / 1024,
                  "kernel_flash_kib": base.kernel_flash_bytes / 1024,
                  "stack_reserve_kib": base.stack_reserve_bytes / 1024, "cmsis_nn_backend": base.cmsis_nn_backend,
                  **base.memory,
                  "cost": {**base.cost, "library": base.library}}
        merged.update({k: v for k, v in d.items() if k not in ("base", "cost")})
        merged["cost"] = {**merged["cost"], **d.get("cost", {})}
        d = merged
    missing = [k for k in REQUIRED if k not in d]
    cost = dict(d.get("cost", {}))
    missing += [f"cost.{k}" for k in COST_KEYS if k not in cost]
    if missing:
        raise TinyCNNError(f"{source}: target '{d.get('name', '?')}' lacks {', '.join(missing)} "
                           f"(or set base = \"<built-in target>\" to inherit them)")
    try:
        cost_values = {k: float(cost[k]) for k in COST_KEYS}
        for k, default in DTYPE_COST_DEFAULTS.items():
            cost_values[k] = float(cost[k]) if k in cost else float(default(cost_values))
        t = Target(name=str(d["name"]), core=str(d["core"]), clock_mhz=float(d["clock_mhz"]),
                   sram_bytes=int(float(d["sram_kib"]) * 1024), flash_bytes=int(float(d["flash_kib"]) * 1024),
                   board=str(d.get("board", "")),
                   runtime_flash_bytes=int(float(d.get("runtime_flash_kib", 0)) * 1024),
                   kernel_flash_bytes=int(float(d.get("kernel_flash_kib", 0)) * 1024),
                   library=str(cost.get("library", "CMSIS-NN-class optimized int8 kernels")),
                   cost=cost_values, source=source,
                   stack_reserve_bytes=int(float(d.get("stack_reserve_kib", DEFAULT_STACK_RESERVE_KIB)) * 1024),
                   cmsis_nn_backend=str(d.get("cmsis_nn_backend", "dsp")),
                   memory={k: (str(d.get(k, v)) if k == "weights_in" else float(d.get(k, v)))
                           for k, v in MEMORY_DEFAULTS.items()})
    except (TypeError, ValueError) as exc:
        raise TinyCNNError(f"{source}: target '{d.get('name', '?')}' has a non-numeric field ({exc})") from exc
    if t.memory["weights_in"] not in PLACEMENTS:
        raise TinyCNNError(f"{source}: target '{t.name}': weights_in must be one of {', '.join(PLACEMENTS)}, "
                           f"got '{t.memory['weights_in']}'")
    if t.cmsis_nn_backend not in CMSIS_NN_BACKENDS:
        raise TinyCNNError(f"{source}: target '{t.name}': cmsis_nn_backend must be one of "
                           f"{', '.join(CMSIS_NN_BACKENDS)}, got '{t.cmsis_nn_backend}'")
    if t.clock_mhz <= 0 or t.sram_bytes <= 0 or t.flash_bytes <= 0 or t.stack_reserve_bytes < 0:
        raise TinyCNNError(f"{source}: target '{t.name}': clock_mhz, sram_kib and flash_kib must be positive "
                           f"(stack_reserve_kib not negative)")
    return t


def _read(path: Path) -> list:
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise TinyCNNError(f"{path}: cannot read target file ({exc.strerror})") from exc
    try:
        d = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text.decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise TinyCNNError(f"{path}: not a valid {'JSON' if path.suffix == '.json' else 'TOML'} "
                           f"target file ({exc})") from exc
    if isinstance(d, list):
        return d
    for key in ("target", "targets"):
        if key in d:
            return list(d[key])
    return [d]


def builtin_targets() -> dict:
    known = {}
    for path in sorted(TARGET_DIR.glob("*.toml")):
        for d in _read(path):
            t = _from_dict(d, f"built-in {path.name}", known)
            known[t.name] = t
    return known


def load_targets(target_file=None) -> dict:
    """All built-in targets plus those in ``target_file`` (which may override built-ins by name)."""
    known = builtin_targets()
    if target_file:
        path = Path(target_file)
        for d in _read(path):
            t = _from_dict(d, str(path), known)
            known[t.name] = t
    return known


def get_target(target, target_file=None, clock_mhz=None) -> Target:
    """A Target by name (or a Target passed through), with an optional clock override."""
    if isinstance(target, Target):
        return target.with_clock(clock_mhz)
    known = load_targets(target_file)
    if target not in known:
        raise TinyCNNError(f"unknown target '{target}'; known targets: {', '.join(sorted(known))} "
                           f"(add your own with --target-file FILE.toml)")
    return known[target].with_clock(clock_mhz)
