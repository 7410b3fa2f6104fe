"""The one graph representation used everywhere: importers produce it, passes rewrite it,
the quantizer annotates it, the blob serializes it, and runtimes execute it.

Layout conventions (all importers follow them):
- activations are NHWC (rank 4) or [N, C] (rank 2); the batch dimension is stored as -1;
- CONV_2D weights are [C_out, KH, KW, C_in / groups] (TFLite's OHWI);
- DEPTHWISE_CONV_2D weights are [KH, KW, C_out] with C_out = C_in * depth_multiplier;
- FULLY_CONNECTED weights are [C_out, C_in];
- spatial padding is (top, left, bottom, right).
Fused activations are a float clamp ``attrs["clamp"] = [lo, hi]`` (None = unbounded).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from enum import Enum

import numpy as np


class Op(str, Enum):
    # weighted ops
    CONV_2D = "CONV_2D"
    DEPTHWISE_CONV_2D = "DEPTHWISE_CONV_2D"
    FULLY_CONNECTED = "FULLY_CONNECTED"
    BINARY_CONV_2D = "BINARY_CONV_2D"
    BINARY_FULLY_CONNECTED = "BINARY_FULLY_CONNECTED"
    BINARIZE = "BINARIZE"  # int8 -> 1-bit packed sign words (tinycnn/bitpack.py)
    BINARY_MAX_POOL_2D = "BINARY_MAX_POOL_2D"  # max pool on packed sign words
    # pooling / reductions
    MAX_POOL_2D = "MAX_POOL_2D"
    AVERAGE_POOL_2D = "AVERAGE_POOL_2D"
    MEAN = "MEAN"  # mean over H, W (keepdims -> [N,1,1,C])
    # elementwise binary
    ADD = "ADD"
    SUB = "SUB"
    MUL = "MUL"
    # elementwise unary
    CLAMP = "CLAMP"  # ReLU, ReLU6, Clip
    LEAKY_RELU = "LEAKY_RELU"
    PRELU = "PRELU"  # second input: per-channel slope
    SIGMOID = "SIGMOID"
    TANH = "TANH"
    HARD_SIGMOID = "HARD_SIGMOID"  # attrs alpha, beta
    HARD_SWISH = "HARD_SWISH"
    SILU = "SILU"
    LUT = "LUT"  # quantized unary op as a 256-entry table (params["lut"])
    REQUANTIZE = "REQUANTIZE"  # int8 -> int8 with other scale/zero point
    # data movement
    CONCATENATION = "CONCATENATION"
    RESHAPE = "RESHAPE"
    TRANSPOSE = "TRANSPOSE"
    PAD = "PAD"
    RESIZE_NEAREST = "RESIZE_NEAREST"
    SOFTMAX = "SOFTMAX"
    BATCH_NORM = "BATCH_NORM"  # transient: folded by passes before quantization
    # segmentation / detection heads (tinycnn/reference/{resize_bilinear,transpose_conv,movement,reduce}.py)
    RESIZE_BILINEAR = "RESIZE_BILINEAR"  # attrs size [OH, OW], align_corners, half_pixel_centers
    TRANSPOSE_CONV = "TRANSPOSE_CONV"  # weights [C_out, KH, KW, C_in]; attrs stride, pad, output_size
    REDUCE_MEAN = "REDUCE_MEAN"  # mean over attrs axes (contiguous, not the batch), keep_dims
    ARG_MAX = "ARG_MAX"  # attrs axis, keep_dims; int32 indices (first of equal values)
    ARG_MIN = "ARG_MIN"
    DEPTH_TO_SPACE = "DEPTH_TO_SPACE"  # attrs block, mode DCR (TFLite) | CRD
    SPACE_TO_DEPTH = "SPACE_TO_DEPTH"  # attrs block
    STRIDED_SLICE = "STRIDED_SLICE"  # attrs begin, stride, size per dim (batch: 0, 1, -1)
    SIGN = "SIGN"  # real-valued sign: -1 if x < 0 else +1 (tinycnn's sign(0) = +1, docs/binary.md)


UNARY_OPS = {Op.CLAMP, Op.LEAKY_RELU, Op.SIGMOID, Op.TANH, Op.HARD_SIGMOID, Op.HARD_SWISH, Op.SILU, Op.SIGN}
ELEMENTWISE_BINARY_OPS = {Op.ADD, Op.SUB, Op.MUL}
WEIGHTED_OPS = {Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.FULLY_CONNECTED,
                Op.BINARY_CONV_2D, Op.BINARY_FULLY_CONNECTED}
# ops whose output reuses the input bytes unchanged (views on the same data)
ALIAS_OPS = {Op.RESHAPE}


@dataclass
class QuantParams:
    """Affine quantization: real = scale * (q - zero_point). Per-tensor when axis is None."""
    scale: np.ndarray  # float32, shape [1] or [C]
    zero_point: np.ndarray  # int32, same shape
    axis: int | None = None

    def __post_init__(self):
        self.scale = np.atleast_1d(np.asarray(self.scale, dtype=np.float32))
        self.zero_point = np.atleast_1d(np.asarray(self.zero_point, dtype=np.int32))

    @property
    def per_channel(self) -> bool:
        return self.axis is not None

    def to_json(self) -> dict:
        return {"scale": [float(s) for s in self.scale],
                "zero_point": [int(z) for z in self.zero_point], "axis": self.axis}

    @classmethod
    def from_json(cls, d: dict) -> "QuantParams":
        return cls(np.array(d["scale"], np.float32), np.array(d["zero_point"], np.int32), d["axis"])


DTYPES = {"float32": np.float32, "int8": np.int8, "uint8": np.uint8, "int16": np.int16,
          "int32": np.int32, "int64": np.int64, "uint32": np.uint32, "uint64": np.uint64}


@dataclass
class Tensor:
    name: str
    shape: tuple  # batch dim = -1 for activations
    dtype: str = "float32"
    data: np.ndarray | None = None  # constant tensors only
    quant: QuantParams | None = None

    @property
    def is_const(self) -> bool:
        return self.data is not None

    def concrete_shape(self, batch: int) -> tuple:
        return tuple(batch if d == -1 else d for d in self.shape)


@dataclass
class Node:
    name: str
    op: Op
    inputs: list  # tensor names ('' = absent optional input)
    outputs: list
    attrs: dict = field(default_factory=dict)  # JSON-able geometry and scalars
    params: dict = field(default_factory=dict)  # prepared arrays (multipliers, shifts, LUTs)

    def __post_init__(self):
        self.op = Op(self.op)


@dataclass
class Graph:
    name: str = "model"
    tensors: dict = field(default_factory=dict)
    nodes: list = field(default_factory=list)
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)  # source_path, source_format, input/output layouts

    # ---- construction helpers used by importers and passes ----
    def add_tensor(self, name, shape, dtype="float32", data=None, quant=None) -> Tensor:
        t = Tensor(name, tuple(int(d) for d in shape), dtype, data, quant)
        self.tensors[name] = t
        return t

    def add_const(self, name, array, dtype=None) -> str:
        array = np.ascontiguousarray(array)
        dt = dtype or str(array.dtype)
        self.add_tensor(name, array.shape, dt, array.astype(DTYPES[dt], copy=False))
        return name

    def unique_name(self, base: str) -> str:
        name, i = base, 1
        while name in self.tensors:
            name, i = f"{base}_{i}", i + 1
        return name

    def add_node(self, name, op, inputs, outputs, attrs=None, params=None) -> Node:
        node = Node(name, Op(op), list(inputs), list(outputs), dict(attrs or {}), dict(params or {}))
        self.nodes.append(node)
        return node

    # ---- queries ----
    def producer(self, tensor_name: str) -> Node | None:
        for n in self.nodes:
            if tensor_name in n.outputs:
                return n
        return None

    def consumers(self, tensor_name: str) -> list:
        return [n for n in self.nodes if tensor_name in n.inputs]

    def activation_inputs(self, node: Node) -> list:
        """Non-constant inputs of a node."""
        return [i for i in node.inputs if i and not self.tensors[i].is_const]

    def remove_unused_tensors(self):
        used = set(self.inputs) | set(self.outputs)
        for n in self.nodes:
            used.update(i for i in n.inputs if i)
            used.update(n.outputs)
        self.tensors = {k: v for k, v in self.tensors.items() if k in used}

    def replace_tensor_uses(self, old: str, new: str):
        for n in self.nodes:
            n.inputs = [new if i == old else i for i in n.inputs]
        self.outputs = [new if o == old else o for o in self.outputs]

    def toposort(self):
        ready = set(self.inputs) | {k for k, t in self.tensors.items() if t.is_const}
        pending, ordered = list(self.nodes), []
        while pending:
            progressed = False
            for n in list(pending):
                if all((not i) or i in ready for i in n.inputs):
                    ordered.append(n)
                    ready.update(n.outputs)
                    pending.remove(n)
                    progressed = True
            if not progressed:
                names = ", ".join(n.name for n in pending[:5])
                raise ValueError(f"graph has a cycle or a missing input near: {names}")
        self.nodes = ordered

    def copy(self) -> "Graph":
        return copy.deepcopy(self)

    def weight_count(self) -> int:
        return int(sum(t.data.size for t in self.tensors.values() if t.is_const))
