"""Specs of float32 graphs (``--scheme float32``): no integer kernel, the runtime runs the
NumPy float reference (tinycnn/reference/float_ops.py)."""
from __future__ import annotations

from tinycnn.opspec.common import CLAMP, CONV_GEOM, FLOAT32, MAX_DIM, POOL_GEOM, REF_FLOAT, Attr, Operand, bias, i, \
    ints, weights, x, y
from tinycnn.opspec.schema import OpSpec
from tinycnn.opspec.seg import FLOAT_SPECS as SEG_FLOAT_SPECS

F = (FLOAT32,)
_FLOAT = dict(lo=-1e30, hi=1e30)


def _f(op, shape, inputs=1, attrs=(), ref=None, cost="elementwise"):
    ins = {1: (x(*F),), 2: (x(*F, name="input1"), Operand("input2", F)),
           "w": (x(*F), weights(*F), bias(*F, optional=True))}[inputs]
    return OpSpec(op, "float32", ins, (y(*F),), shape, attrs + (CLAMP,), (), reference=f"{REF_FLOAT}:{ref}",
                  cost=cost)


SPECS = (
    _f("CONV_2D", "conv", "w", CONV_GEOM + (i("groups", 1, MAX_DIM, optional=True),), "conv_2d", "mac"),
    _f("DEPTHWISE_CONV_2D", "depthwise", "w", CONV_GEOM + (i("depth_multiplier", 1, MAX_DIM, optional=True),),
       "depthwise_conv_2d", "mac"),
    _f("FULLY_CONNECTED", "fully_connected", "w", (), "fully_connected", "mac"),
    _f("MAX_POOL_2D", "pool", 1, POOL_GEOM, "max_pool_2d", "pool"),
    _f("AVERAGE_POOL_2D", "pool", 1, POOL_GEOM, "average_pool_2d", "pool"),
    _f("MEAN", "mean", 1, (), "mean", "mean"),
    *(_f(op, "broadcast", 2, (), "run_node_float") for op in ("ADD", "SUB", "MUL")),
    _f("PRELU", "broadcast", 2, (), "prelu"),
    *(_f(op, "same", 1, (), "unary", "exp") for op in ("SIGMOID", "TANH", "SILU")),
    *(_f(op, "same", 1, (), "unary") for op in ("CLAMP", "HARD_SWISH")),
    _f("LEAKY_RELU", "same", 1, (Attr("alpha", "float", **_FLOAT),), "unary"),
    _f("HARD_SIGMOID", "same", 1, (Attr("alpha", "float", **_FLOAT), Attr("beta", "float", **_FLOAT)), "unary"),
    _f("SOFTMAX", "same", 1, (Attr("beta", "float", optional=True, **_FLOAT),), "softmax", "softmax"),
    OpSpec("CONCATENATION", "float32", (Operand("inputs", F, repeat=True),), (y(*F),), "concat",
           (i("axis", 0, 5),), reference=f"{REF_FLOAT}:concatenation", cost="copy"),
    OpSpec("RESHAPE", "float32", (x(*F),), (y(*F),), "reshape", (Attr("shape", "ints", -1, 1 << 30),),
           reference=f"{REF_FLOAT}:reshape", cost="copy", checks=("reshape_attr",)),
    _f("TRANSPOSE", "transpose", 1, (Attr("perm", "ints", 0, 5),), "transpose", "copy"),
    _f("PAD", "pad", 1, (Attr("pads", "int_rows", 0, 1 << 12), Attr("value", "float", optional=True, **_FLOAT)),
       "pad", "copy"),
    _f("RESIZE_NEAREST", "resize", 1, (ints("scale", 2, 1, 64),), "resize_nearest", "copy"),
    *SEG_FLOAT_SPECS,
)
