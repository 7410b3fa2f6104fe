"""The tensor arena TensorFlow Lite Micro would need for a graph (our own model of its rules).

TFLM (tensorflow/lite/micro: micro_allocator.cc, micro_interpreter.cc,
memory_planner/greedy_memory_planner.cc, kernels/*.h) splits one arena into
- a *head*, non-persistent: every non-constant tensor and every kernel scratch buffer, laid out
  by its greedy planner (largest first, lowest offset free over the buffer's lifetime, 16-byte
  aligned sizes). TFLM has no in-place execution and no RESHAPE aliasing: each op output is its
  own buffer, live from its producer to its last consumer (graph inputs from step 0, outputs to
  the end).
- a *tail*, persistent: the allocator objects, one TfLiteEvalTensor per tensor of the
  subgraph (weights included), one NodeAndRegistration per op, the builtin-options struct of
  each op, each kernel's OpData (Init) and per-channel multiplier/shift arrays (Prepare), the
  persistent TfLiteTensor + quantization of the graph inputs/outputs and their pointer arrays.
- transient peaks while it allocates: the planner's working arrays (AllocationInfo per tensor,
  GreedyMemoryPlanner per-buffer arrays) live in the free space between head and tail when the
  plan is committed, so the smallest arena that *allocates* is the larger of that moment and
  the final head + tail.

Struct sizes come from the field lists of the TFLM/TFLite C headers (``STRUCTS``), laid out
for an ABI: ``ABI_ARM32`` (a Cortex-M build: 4-byte pointers) for reports, ``ABI_LP64`` for the
host build of the ``tflite-micro`` Python package the tests compare with. Scratch per op is
what the chosen kernel stack requests (``firmware_sim.kernel_scratch``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware_sim.planner import ALIGNMENT, Buffer, _first_fit, align_up, arena_size
from tinycnn.ir import DTYPES, Graph

ABI_ARM32 = {"ptr": 4, "size_t": 4, "double_align": 8, "name": "32-bit Arm (Cortex-M)"}
ABI_LP64 = {"ptr": 8, "size_t": 8, "double_align": 8, "name": "64-bit host (LP64)"}

# field lists: i32/f32 = 4 bytes, i16 = 2, i8/bool = 1, f64 = 8, ptr/size_t per ABI;
# ("arr", type, n) = a fixed array
_PAD = ("i32",) * 4  # TfLitePaddingValues: width, height, width_offset, height_offset
STRUCTS = {
    # tensorflow/lite/c/common.h (TF_LITE_STATIC_MEMORY build)
    "TfLiteEvalTensor": ("ptr", "ptr", "i32"),  # data, dims, type
    "TfLiteNode": ("ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i32"),  # inputs, outputs,
    # intermediates, user_data, builtin_data, custom_initial_data, custom_initial_data_size
    "TFLMRegistration": ("ptr",) * 7 + ("i32", "i32", "ptr", "i32"),  # init, free, prepare,
    # invoke, reset, profiling_string, builtin_code + custom_name, version
    "TfLiteTensor": ("ptr", "ptr", "i32", "i32", "f32", "i32", "i32", "ptr", "size_t", "i8", "i8",
                     "i32", "ptr", "ptr"),  # data, dims, type, params{scale, zp}, allocation_type,
    # quantization{type, params}, bytes, is_variable, ..., quantization_params dims_signature...
    "TfLiteAffineQuantization": ("ptr", "ptr", "i32"),
    "ScratchBufferHandle": ("ptr",),
    "ScratchBufferRequest": ("size_t", "i32", "i32"),
    "AllocationInfo": ("size_t", "ptr", "i32", "i32", "i32", "bool"),
    # builtin options (tensorflow/lite/core/c/builtin_op_data.h)
    "TfLiteConvParams": ("i32",) * 7,
    "TfLiteDepthwiseConvParams": ("i32",) * 7,
    "TfLiteFullyConnectedParams": ("i32", "i32", "bool", "bool", "i32"),
    "TfLitePoolParams": ("i32",) * 6 + _PAD,
    "TfLiteSoftmaxParams": ("f32",),
    "TfLiteReshapeParams": (("arr", "i32", 8), "i32"),
    "TfLiteSqueezeParams": (("arr", "i32", 8), "i32"),
    "TfLiteReducerParams": ("bool",),
    "TfLiteAddParams": ("i32", "bool"),
    "TfLiteSubParams": ("i32", "bool"),
    "TfLiteMulParams": ("i32",),
    "TfLiteConcatenationParams": ("i32", "i32"),
    "TfLiteLeakyReluParams": ("f32",),
    "TfLiteResizeNearestNeighborParams": ("bool", "bool"),
    "TfLiteStridedSliceParams": ("i32",) * 5 + ("bool",),
    # kernel OpData (tensorflow/lite/micro/kernels/*.h)
    "OpDataConv": _PAD + ("i32",) * 5 + ("ptr", "ptr", "i32", "i32", "i32"),
    "OpDataFullyConnected": ("i32",) * 9 + ("ptr", "ptr", "bool"),
    "OpDataPooling": _PAD + ("i32", "i32", "f32", "f32"),
    "SoftmaxParams": ("f64", "i32", "i32", "i32", "i32", "f32", "i32", "i32", "ptr", "ptr", "ptr",
                      "ptr", "ptr"),
    "OpDataReduce": ("i32",) * 9,
    "OpDataAdd": ("bool",) + ("i32",) * 13 + ("f32", "f32"),
    "OpDataMul": ("i32",) * 7 + ("f32", "f32"),
    "HardSwishParams": ("i16", "i16", "i16", "i32", "i16", "i32"),
    "OpDataLogistic": ("i32",) * 4,
    "ReluOpData": ("i32",) * 6,
    "Relu6OpData": ("i8", "i8", "i16", "i16"),
    "LeakyReluOpData": ("i32",) * 6,
    "OpDataPad": ("i8", ("arr", "i32", 5), "i8", ("arr", "i32", 5), "i32", "i32"),
    "OpDataQuantize": ("i32", "i32", "f32", "i32", "i32", "i32"),
    "OpDataConcatenation": ("i8", "ptr", "ptr", "i16", "i32", "f32"),
    "PreluParams": ("i32",) * 7,
    "OpDataStridedSlice": ("i8", ("arr", "i32", 5), "i8", ("arr", "i32", 5), "i8", ("arr", "i32", 5),
                           "i16", "i16", "i16", "i16", "i16"),
}

# TFLite builtin op -> (builtin-options struct, kernel OpData struct, extra constant input
# tensors the flatbuffer carries that tinycnn folds into attributes, per-channel arrays)
OP_RULES = {
    "CONV_2D": ("TfLiteConvParams", "OpDataConv", 0, True),
    "DEPTHWISE_CONV_2D": ("TfLiteDepthwiseConvParams", "OpDataConv", 0, True),
    "FULLY_CONNECTED": ("TfLiteFullyConnectedParams", "OpDataFullyConnected", 0, True),
    "AVERAGE_POOL_2D": ("TfLitePoolParams", "OpDataPooling", 0, False),
    "MAX_POOL_2D": ("TfLitePoolParams", "OpDataPooling", 0, False),
    "SOFTMAX": ("TfLiteSoftmaxParams", "SoftmaxParams", 0, False),
    "RESHAPE": ("TfLiteReshapeParams", None, 1, False),
    "SQUEEZE": ("TfLiteSqueezeParams", None, 0, False),
    "MEAN": ("TfLiteReducerParams", "OpDataReduce", 1, False),
    "ADD": ("TfLiteAddParams", "OpDataAdd", 0, False),
    "SUB": ("TfLiteSubParams", "OpDataAdd", 0, False),
    "MUL": ("TfLiteMulParams", "OpDataMul", 0, False),
    "HARD_SWISH": (None, "HardSwishParams", 0, False),
    "LOGISTIC": (None, "OpDataLogistic", 0, False),
    "TANH": (None, "OpDataLogistic", 0, False),
    "RELU": (None, "ReluOpData", 0, False),
    "RELU6": (None, "Relu6OpData", 0, False),
    "LEAKY_RELU": ("TfLiteLeakyReluParams", "LeakyReluOpData", 0, False),
    "PAD": (None, "OpDataPad", 1, False),
    "PADV2": (None, "OpDataPad", 2, False),
    "QUANTIZE": (None, "OpDataQuantize", 0, False),
    "CONCATENATION": ("TfLiteConcatenationParams", "OpDataConcatenation", 0, False),
    "TRANSPOSE": (None, None, 1, False),
    "RESIZE_NEAREST_NEIGHBOR": ("TfLiteResizeNearestNeighborParams", None, 1, False),
    "PRELU": (None, "PreluParams", 0, False),
    "STRIDED_SLICE": ("TfLiteStridedSliceParams", "OpDataStridedSlice", 3, False),
}
# tinycnn ops with no TFLite source name: the TFLite op they stand for
OP_EQUIVALENT = {"LUT": "LOGISTIC", "REQUANTIZE": "QUANTIZE", "RESIZE_NEAREST": "RESIZE_NEAREST_NEIGHBOR",
                 "CONCATENATION": "CONCATENATION"}
# TFLM's fixed persistent objects (micro_allocator.cc GetDefaultTailUsage, micro_interpreter.cc):
# SingleArenaBufferAllocator, MicroAllocator, MicroBuiltinDataAllocator, SubgraphAllocations,
# GreedyMemoryPlanner, plus the recording wrappers of the Python package's interpreter; in
# pointer-sized words (their members are pointers, sizes and counters)
FIXED_WORDS = 64


def _size(fields, abi) -> tuple:
    """(size, alignment) of a C struct with these fields under ``abi``."""
    width = {"i32": 4, "f32": 4, "i16": 2, "i8": 1, "bool": 1, "f64": 8, "ptr": abi["ptr"],
             "size_t": abi["size_t"]}
    off, align = 0, 1
    for f in fields:
        n = 1
        if isinstance(f, tuple):
            _, f, n = f
        w = width[f]
        a = abi["double_align"] if f == "f64" else w
        off = -(-off // a) * a + w * n
        align = max(align, a)
    return -(-off // align) * align, align


def struct_size(name, abi=ABI_ARM32) -> int:
    return _size(STRUCTS[name], abi)[0]


def tflite_op(node) -> str:
    src = node.attrs.get("source_op", "")
    if src in OP_RULES:
        return src
    return OP_EQUIVALENT.get(node.op.value, node.op.value)


@dataclass
class TflmArena:
    head_bytes: int  # non-persistent: planned tensors + scratch
    tail_bytes: int  # persistent
    commit_peak_bytes: int  # tail + planner working arrays when the plan is committed
    scratch_bytes: int  # largest per-op scratch in the head
    abi: str

    @property
    def arena_bytes(self) -> int:
        """The smallest arena that allocates: final head + tail, or the commit-time peak."""
        return align_up(max(self.head_bytes + self.tail_bytes, self.commit_peak_bytes), ALIGNMENT)


def _tensor_bytes(graph, name) -> int:
    t = graph.tensors[name]
    return int(np.prod(t.concrete_shape(1))) * np.dtype(DTYPES[t.dtype]).itemsize


def tflm_head(graph: Graph, scratch: dict) -> tuple:
    """(head bytes, planned buffer count): TFLM's greedy planner over the graph's op order.
    scratch: node name -> [bytes] requested by its kernel in Prepare."""
    first = {t: 0 for t in graph.inputs}
    last = {t: 0 for t in graph.inputs}
    bufs = []
    for i, n in enumerate(graph.nodes):
        for t in n.outputs:
            first[t] = last[t] = i
        for t in graph.activation_inputs(n):
            last[t] = max(last.get(t, 0), i)
        for k, b in enumerate(scratch.get(n.name, [])):
            bufs.append(Buffer(f"{n.name}::scratch{k}", align_up(b), i, i, "scratch"))
    for t in graph.outputs:
        last[t] = len(graph.nodes) - 1
    bufs += [Buffer(t, align_up(_tensor_bytes(graph, t)), first[t], last[t]) for t in first]
    # greedy_memory_planner.cc: sort by size (largest first), first fit over live buffers
    order = sorted(bufs, key=lambda b: -b.size)
    offsets = _first_fit(order, ALIGNMENT)
    return arena_size(bufs, offsets), len(bufs)


def _persistent(graph: Graph, abi) -> tuple:
    """(tail bytes, tensor count) of TFLM's persistent section for this graph."""
    a16 = lambda n: align_up(n, ALIGNMENT)  # noqa: E731  AllocatePersistentBuffer: 16-aligned
    n_tensors = len(graph.tensors)
    tail = FIXED_WORDS * abi["ptr"]
    words = 0
    for n in graph.nodes:
        op = tflite_op(n)
        params, opdata, extra, per_channel = OP_RULES.get(op, (None, "OpDataLogistic", 0, False))
        n_tensors += extra
        if params:
            words += struct_size(params, abi)  # builtin data: packed at the struct's alignment
        if opdata:
            tail += a16(struct_size(opdata, abi))
        if per_channel and len(n.inputs) > 1:
            w = graph.tensors[n.inputs[1]]
            q = w.quant
            if q is not None and (np.size(q.scale) > 1 or op != "FULLY_CONNECTED"):
                channels = w.shape[-1] if op == "DEPTHWISE_CONV_2D" else w.shape[0]
                tail += 2 * a16(4 * channels)  # per-channel multiplier and shift
    tail += align_up(words, 8)
    tail += a16(n_tensors * struct_size("TfLiteEvalTensor", abi))
    node_reg = struct_size("TfLiteNode", abi) + abi["ptr"]  # NodeAndRegistration
    tail += a16(len(graph.nodes) * node_reg)
    for _ in list(graph.inputs) + list(graph.outputs):  # persistent TfLiteTensor + quantization
        tail += a16(struct_size("TfLiteTensor", abi)) + a16(struct_size("TfLiteAffineQuantization", abi)) \
            + a16(8)
    tail += a16(abi["ptr"] * len(graph.inputs)) + a16(abi["ptr"] * len(graph.outputs))
    return tail, n_tensors


def tflm_arena(graph: Graph, scratch: dict | None = None, abi=ABI_ARM32) -> TflmArena:
    """The arena TFLM needs for ``graph`` run in its own op order (see the module docstring)."""
    scratch = scratch or {}
    head, n_planned = tflm_head(graph, scratch)
    tail, n_tensors = _persistent(graph, abi)
    n_scratch = sum(len(v) for v in scratch.values())
    tail += align_up(n_scratch * struct_size("ScratchBufferHandle", abi), ALIGNMENT)
    # CommitStaticMemoryPlan: AllocationInfo for every tensor and scratch buffer, then the
    # planner's per-buffer arrays (requirements: size, first/last use, offline offset; sorted
    # sizes; ids; offset list entry of 3 x i32; offsets) in the remaining temp space, while the
    # head holds the scratch-buffer requests (FinishPrepareNodeAllocations keeps room for
    # count + kMaxScratchBuffersPerOp = 12 of them)
    info = align_up((n_tensors + n_scratch) * struct_size("AllocationInfo", abi), ALIGNMENT)
    planner = align_up(n_planned * (16 + 4 + 4 + 12 + 4), ALIGNMENT)
    requests = align_up((n_scratch + 12) * struct_size("ScratchBufferRequest", abi), ALIGNMENT)
    return TflmArena(head, tail, tail + info + planner + requests,
                     max((max(v) for v in scratch.values() if v), default=0), abi["name"])
