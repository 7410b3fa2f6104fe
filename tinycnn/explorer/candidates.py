"""Candidate configurations: one frozen, JSON-able description per blob the explorer builds.

scheme:
- ``float32``: the float graph as a blob (no quantization);
- ``int8``: TFLite int8 (``per_channel`` weights or per tensor, activation ranges by
  ``calibration``: minmax | percentile | mse | entropy);
- ``int16x8``: every conv / depthwise / fully connected layer with int16 activations and int8
  weights (TFLite 16x8); ops without a 16x8 kernel stay int8 behind REQUANTIZE nodes;
- ``binary``: the hidden conv / fully connected layers binarized (tinycnn.quant.binarize
  default: all but the first and last weighted layer), the rest int8;
- ``mixed``: ``layer_bits`` gives each weighted layer "int16x8" | "int8" | "binary"
  (found by tinycnn.explorer.mixed_precision).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from tinycnn.ir import Graph, Op

SCHEMES = ("float32", "int8", "int16x8", "binary", "mixed")
LAYER_BITS = ("int16x8", "int8", "binary")  # high -> low precision
BITS_LABEL = {"int16x8": "16x8", "int8": "8", "binary": "1"}


@dataclass(frozen=True)
class Candidate:
    name: str
    scheme: str
    calibration: str = "minmax"
    per_channel: bool = True
    percentile: float = 99.99
    layer_bits: tuple = ()  # ((layer name, "int16x8" | "int8" | "binary"), ...) for "mixed"

    def __post_init__(self):
        if self.scheme not in SCHEMES:
            raise ValueError(f"unknown candidate scheme '{self.scheme}'; choose from {SCHEMES}")
        bad = [b for _, b in self.layer_bits if b not in LAYER_BITS]
        if bad:
            raise ValueError(f"unknown layer precision {bad[0]!r}; choose from {LAYER_BITS}")

    @property
    def bits(self) -> dict:
        return dict(self.layer_bits)

    def to_json(self) -> dict:
        d = asdict(self)
        d["layer_bits"] = {k: v for k, v in self.layer_bits}
        return d

    @classmethod
    def from_json(cls, d: dict) -> "Candidate":
        d = dict(d)
        d["layer_bits"] = tuple(sorted(d.get("layer_bits", {}).items()))
        return cls(**d)


def weighted_layers(graph: Graph) -> list:
    """Names of the layers a mixed-precision configuration assigns (conv, depthwise, FC)."""
    return [n.name for n in graph.nodes
            if n.op in (Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.FULLY_CONNECTED)]


def layer_options(graph: Graph) -> dict:
    """Per weighted layer, the precisions it may take (high -> low)."""
    from tinycnn.quant.binarize import default_binary_layers
    binarizable = set(default_binary_layers(graph))
    return {name: LAYER_BITS if name in binarizable else LAYER_BITS[:2] for name in weighted_layers(graph)}


def default_candidates(graph: Graph, calibration="minmax") -> tuple:
    """(candidates, skipped) for a float graph; skipped = [(name, reason)]. ``calibration``: the
    method of the per-tensor, 16x8 and 1-bit candidates (the int8 per-channel ones try all four)."""
    from tinycnn.quant.binarize import default_binary_layers
    cands = [Candidate("float32", "float32"),
             Candidate("int8 per-tensor", "int8", calibration, per_channel=False),
             Candidate("int8 per-channel", "int8", "minmax")]
    cands += [Candidate(f"int8 {m}", "int8", m) for m in ("percentile", "mse", "entropy")]
    cands.append(Candidate("16x8", "int16x8", calibration))
    skipped = []
    if default_binary_layers(graph):
        cands.append(Candidate("1-bit hidden", "binary", calibration))
    else:
        skipped.append(("1-bit hidden", "no binarizable hidden layer (conv with groups=1 or fully "
                                        "connected, other than the first and last weighted layer)"))
    return cands, skipped


def mixed_candidate(bits: dict, name="mixed", calibration="minmax", per_channel=True) -> Candidate:
    return Candidate(name, "mixed", calibration, per_channel, layer_bits=tuple(sorted(bits.items())))


def bits_summary(bits: dict, order: list) -> str:
    """'16x8 16x8 8 1 8' in layer order."""
    return " ".join(BITS_LABEL[bits[n]] for n in order if n in bits)
