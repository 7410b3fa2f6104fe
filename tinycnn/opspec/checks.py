"""Extra checks a spec names in ``checks`` (beyond operands, attributes, parameters and shape):
each takes the node's ``Context`` and raises ``Invalid`` with a one-line reason.

``accumulator_int32``: the int8 kernels accumulate in int32 (compiled) while the interpreted
kernels (NUMBA_DISABLE_JIT=1) would widen; TFLite assumes the accumulator cannot overflow. So
the validator refuses a weighted op whose worst-case accumulator, computed from the actual
weights, bias and input offset, exceeds int32: then compiled and interpreted runs agree
exactly (docs/ops.md, "Accumulators").
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinycnn.opspec.shapes import Invalid, need  # noqa: F401  (Invalid re-exported)

INT32_MAX = (1 << 31) - 1
LIMITS = {"int8": (-128, 127), "int16": (-32768, 32767), "uint8": (0, 255)}


@dataclass
class Context:
    graph: object
    node: object
    spec: object
    in_shapes: list  # per node input ('' -> None)
    out_shape: tuple

    def tensor(self, k):
        return self.graph.tensors[self.node.inputs[k]]

    @property
    def out_dtype(self):
        return self.graph.tensors[self.node.outputs[0]].dtype


def act_range(c: Context):
    a, (lo, hi) = c.node.attrs, LIMITS[c.out_dtype]
    need(lo <= a["act_min"] <= a["act_max"] <= hi,
         f"act_min/act_max {a['act_min']}..{a['act_max']} outside {c.out_dtype} [{lo}, {hi}] or reversed")


def same_dtype(c: Context):
    d = c.tensor(0).dtype
    need(d == c.out_dtype, f"output dtype {c.out_dtype} differs from input dtype {d}")


def pad_value_in_range(c: Context):
    lo, hi = LIMITS[c.out_dtype]
    need(lo <= c.node.attrs["pad_value_q"] <= hi, f"pad_value_q outside {c.out_dtype}")


def exp_table_positive(c: Context):
    need(int(c.node.params["exp_table"][0]) >= 1, "exp_table[0] (the row maximum's weight) must be >= 1")


def concat_requant(c: Context):
    r = np.asarray(c.node.params["requant"], np.int64)
    ok = (np.all(np.abs(r[:, 0]) <= 1 << 16) and np.all((r[:, 1] >= 0) & (r[:, 1] <= INT32_MAX))
          and np.all((r[:, 2] >= -31) & (r[:, 2] <= 30)))
    need(ok, "requant rows must be [offset |.|<=65536, multiplier in [0, 2^31), shift in [-31, 30]]")


def reshape_attr(c: Context):
    s = c.node.attrs["shape"]
    need(tuple(s[1:]) == tuple(c.out_shape[1:]), f"shape attribute {s} does not match the output {c.out_shape}")


def binary_weights(c: Context):
    a = c.node.attrs
    need(a.get("groups", 1) == 1, "grouped binary conv is not supported")


def _max_abs_input(c: Context) -> int:
    lo, hi = LIMITS[c.tensor(0).dtype]
    off = int(c.node.attrs.get("input_offset", 0))
    return max(abs(lo + off), abs(hi + off))


def accumulator_int32(c: Context):
    """Worst case over output channels of |bias| + max|x + input_offset| * sum|w| (exact bound)."""
    node, op = c.node, c.node.op.value
    if op == "MEAN":
        x = c.in_shapes[0]
        worst = x[1] * x[2] * _max_abs_input(c)
    elif op == "AVERAGE_POOL_2D":
        kh, kw = node.attrs["kernel"]
        worst = kh * kw * max(abs(v) for v in LIMITS[c.tensor(0).dtype])
    else:
        w = np.abs(c.tensor(1).data.astype(np.int64) + int(node.attrs.get("weight_offset", 0)))
        per_out = w.reshape(-1, w.shape[-1]).sum(axis=0) if op == "DEPTHWISE_CONV_2D" else \
            w.reshape(w.shape[0], -1).sum(axis=1)
        b = np.abs(c.tensor(2).data.astype(np.int64)) if len(node.inputs) > 2 and node.inputs[2] else 0
        worst = int(np.max(per_out * _max_abs_input(c) + b)) if per_out.size else 0
    need(worst <= INT32_MAX, f"worst-case accumulator {worst} exceeds int32 (TFLite assumes it cannot): "
         "reduce the reduction length or weight magnitudes")


CHECKS = {f.__name__: f for f in (act_range, same_dtype, pad_value_in_range, exp_table_positive, concat_requant,
                                  reshape_attr, binary_weights, accumulator_int32)}


def out_channels(c: Context) -> int:
    """Length rule "out_channels": a weighted op's output channels (from its weights), else the
    output's last dimension."""
    names = [o.name for o in c.spec.inputs]
    if "weights" in names:
        w = c.in_shapes[names.index("weights")]
        return w[-1] if c.node.op.value == "DEPTHWISE_CONV_2D" else w[0]
    return c.out_shape[-1]


LENGTHS = {"out_channels": out_channels, "n_inputs": lambda c: len([i for i in c.node.inputs if i])}
