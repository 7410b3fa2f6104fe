"""Load a blob, plan buffers once per batch size, run the nodes in order.

The plan step allocates every activation buffer and scratch area and binds every kernel call;
``run`` then only quantizes the input into the input buffer, calls the bound kernels, and
dequantizes the outputs. An allocator can be injected (firmware_sim places every activation
in one arena)."""
from __future__ import annotations

import numpy as np

from tinycnn import edges
from tinycnn.errors import TinyCNNError
from tinycnn.ir import DTYPES, Graph, Op
from tinycnn.kernels.registry import bind
from tinycnn.reference.float_ops import run_float

LAYOUT_TO_NHWC = {"NCHW": (0, 2, 3, 1)}
NHWC_TO_LAYOUT = {"NCHW": (0, 3, 1, 2)}
MAX_PLANS = 4  # batch sizes whose plans a Model keeps


def default_allocator(name, shape, dtype):
    return np.zeros(shape, dtype)


class ExecutionPlan:
    """Buffers and bound kernel calls for one batch size. ``device=True`` binds the
    MCU-shaped kernels (firmware_sim) instead of the host fast paths; results are identical."""

    def __init__(self, graph: Graph, batch: int, allocate=default_allocator, device: bool = False):
        self.graph, self.batch, self.device = graph, batch, device
        self.buffers = {}
        self.scratch_bytes = 0
        for name in graph.inputs:
            t = graph.tensors[name]
            self.buffers[name] = allocate(name, t.concrete_shape(batch), DTYPES[t.dtype])
        self.calls, self.call_nodes = [], []  # call_nodes[k]: the node calls[k] runs (profiling)
        for node in graph.nodes:
            t_out = graph.tensors[node.outputs[0]]
            ins = [graph.tensors[i].data if graph.tensors[i].is_const else self.buffers[i]
                   for i in node.inputs if i]
            shape = t_out.concrete_shape(batch)
            if node.op == Op.RESHAPE and allocate is default_allocator and ins[0].flags.c_contiguous \
                    and ins[0].dtype == DTYPES[t_out.dtype]:
                # host plans never reuse a buffer, so a RESHAPE output can be a view of its input:
                # no copy and no call (a device arena plan keeps the copy: buffers are reused there)
                self.buffers[node.outputs[0]] = ins[0].reshape(shape)
                continue
            out = allocate(node.outputs[0], shape, DTYPES[t_out.dtype])
            self.buffers[node.outputs[0]] = out
            try:
                self.calls.append(bind(graph, node, ins, out, self._scratch(node, allocate)))
                self.call_nodes.append(node)
            except (KeyError, ValueError, TypeError, IndexError) as exc:
                raise TinyCNNError(f"node '{node.name}' ({node.op.value}): cannot prepare its kernel: "
                                   f"{type(exc).__name__}: {exc}") from exc

    def _scratch(self, node, allocate):
        """Per-node scratch. ``host_only`` buffers (the CPU fast paths' GEMM operands) are
        plain host memory, not part of a device arena; the others go through ``allocate``."""
        def scratch(shape, dtype, host_only=False):
            shape = (shape,) if np.isscalar(shape) else tuple(shape)
            if host_only:
                return np.zeros(shape, dtype)
            self.scratch_bytes = max(self.scratch_bytes, int(np.prod(shape)) * np.dtype(dtype).itemsize)
            return allocate(f"{node.name}::scratch", shape, dtype)
        scratch.device = self.device
        return scratch

    def run(self):
        for call in self.calls:
            call()


class Model:
    """A loaded blob, ready to run. ``run`` takes inputs in the source model's layout: float
    arrays are quantized at the edge; integer arrays of the model's raw input dtype (int8, or
    uint8 for legacy uint8 TFLite models) go in unchanged and give raw outputs, as the TFLite
    interpreter does (see "Input and output dtypes" in README.md)."""

    def __init__(self, graph: Graph, path=None):
        self.graph = graph
        self.path = path
        _freeze_constants(graph)  # weights live in "flash": read-only, one kernel specialization
        self.quantized = graph.tensors[graph.inputs[0]].dtype != "float32"
        self._plans = {}

    # ---- dtypes at the edges ----
    def raw_input_dtype(self, idx=0):
        """The integer dtype an input array may have to go in raw, or None (float only)."""
        return edges.raw_dtype(self.graph, "inputs", idx) if self.quantized else None

    def raw_output_dtype(self, idx=0):
        """The dtype of output ``idx`` when the inputs are given raw."""
        return edges.raw_dtype(self.graph, "outputs", idx) if self.quantized else None

    def _is_raw(self, x, idx) -> bool:
        x = np.asarray(x)
        raw = self.raw_input_dtype(idx)
        if x.dtype.kind == "f":
            return False
        if raw is not None and x.dtype == np.dtype(raw):
            return True
        name = self.graph.inputs[idx]
        takes = ("float (real values, quantized at the edge)" if self.quantized else "float32") + (
            f" or {raw} (raw quantized values, as the TFLite interpreter takes them)" if raw else "")
        raise TinyCNNError(f"input {idx} ('{name}') has dtype {x.dtype}; this model takes {takes}. "
                           f"Convert it first, e.g. x.astype(np.float32) for real values")

    # ---- layout / quantization at the edges ----
    def _to_nhwc(self, x, idx, keep_dtype=False):
        from tinycnn.convert import check_finite_inputs, to_nhwc
        x = np.asarray(x)
        if x.dtype.kind not in "fiu":
            raise TinyCNNError(f"input {idx} has dtype {x.dtype}; expected real numbers (float32)")
        shape = self.graph.tensors[self.graph.inputs[idx]].shape
        if x.ndim == len(shape) - 1:
            x = x[None]
        check_finite_inputs(x, f"input {idx}")
        if keep_dtype and x.dtype.kind != "f":
            return to_nhwc(self.graph, x, idx, dtype=None)
        return to_nhwc(self.graph, x.astype(np.float32, copy=False), idx)

    def _from_nhwc(self, y, idx):
        layouts = self.graph.meta.get("output_layouts", [])
        layout = layouts[idx] if idx < len(layouts) else "plain"
        if layout in NHWC_TO_LAYOUT and y.ndim == 4:
            y = y.transpose(NHWC_TO_LAYOUT[layout])
        return np.ascontiguousarray(y)

    def quantize_input(self, x_nhwc, idx=0):
        """Real values -> the input tensor's integers, as TFLite's QUANTIZE op rounds."""
        t = self.graph.tensors[self.graph.inputs[idx]]
        return edges.quantize_tflite(x_nhwc, t.quant, DTYPES[t.dtype])

    def dequantize_output(self, y, idx=0):
        q = self.graph.tensors[self.graph.outputs[idx]].quant
        if q is None:  # integer results (ARG_MAX / ARG_MIN indices) are already real values
            return y
        return ((y.astype(np.float32) - q.zero_point[0]) * q.scale[0]).astype(np.float32)

    def plan(self, batch: int) -> ExecutionPlan:
        """The plan for ``batch``, built once. The last MAX_PLANS batch sizes keep theirs (a
        360-sample eval in chunks of 256 uses two: 256 and 104), least recently used dropped."""
        plan = self._plans.pop(batch, None)
        if plan is None:
            plan = ExecutionPlan(self.graph, batch)
            while len(self._plans) >= MAX_PLANS:
                self._plans.pop(next(iter(self._plans)))
        self._plans[batch] = plan  # most recently used last
        return plan

    # ---- public ----
    def run_quantized(self, inputs_q: list, batch_size: int = 256) -> list:
        """Integer NHWC inputs of exactly the blob's input dtype and shape -> integer NHWC
        outputs (no edge conversion; nothing is cast or broadcast)."""
        n = self._check_inputs(inputs_q)
        for i, (name, x) in enumerate(zip(self.graph.inputs, inputs_q)):
            edges.check_exact(self.graph, name, i, x)
        if batch_size < 1:
            raise TinyCNNError(f"batch size must be >= 1, got {batch_size}")
        if n <= batch_size:  # one chunk: no slicing, no concatenation
            plan = self.plan(n)
            for name, x in zip(self.graph.inputs, inputs_q):
                np.copyto(plan.buffers[name], x)
            plan.run()
            return [plan.buffers[name].copy() for name in self.graph.outputs]
        outs = [[] for _ in self.graph.outputs]
        for start in range(0, n, batch_size):
            chunk = [x[start:start + batch_size] for x in inputs_q]
            plan = self.plan(len(chunk[0]))
            for name, x in zip(self.graph.inputs, chunk):
                np.copyto(plan.buffers[name], x)
            plan.run()
            for k, name in enumerate(self.graph.outputs):
                outs[k].append(plan.buffers[name].copy())
        return [np.concatenate(o) for o in outs]

    def run(self, *inputs, batch_size: int = 256):
        """Inputs in the source layout -> outputs in the source layout: float in, float out;
        raw integers in (the model's raw input dtype), the interpreter's raw outputs out.
        Returns one array for single-output models, else a list."""
        self._check_inputs(inputs)
        raw = [self._is_raw(x, i) for i, x in enumerate(inputs)]
        if any(raw) and not all(raw):
            raise TinyCNNError("give every input raw (integer) or every input as float, not a mix")
        xs = [self._to_nhwc(x, i, keep_dtype=r) for i, (x, r) in enumerate(zip(inputs, raw))]
        if self.quantized:
            if raw and raw[0]:
                ys = self.run_quantized([edges.raw_to_blob(self.graph, x, i) for i, x in enumerate(xs)],
                                        batch_size)
                ys = [edges.blob_to_raw(self, y, k) for k, y in enumerate(ys)]
            else:
                ys = self.run_quantized([self.quantize_input(x, i) for i, x in enumerate(xs)], batch_size)
                ys = [self.dequantize_output(y, i) for i, y in enumerate(ys)]
        else:
            ys = run_float(self.graph, xs)
        ys = [self._from_nhwc(y, i) for i, y in enumerate(ys)]
        return ys[0] if len(ys) == 1 else ys

    def _check_inputs(self, inputs) -> int:
        """One array per graph input, all with the same (non-zero) batch size."""
        want = len(self.graph.inputs)
        if len(inputs) != want:
            raise TinyCNNError(f"the model has {want} input(s) ({', '.join(self.graph.inputs)}); got {len(inputs)}")
        sizes = {len(np.atleast_1d(x)) if np.ndim(x) == len(self.graph.tensors[name].shape) else 1
                 for name, x in zip(self.graph.inputs, inputs)}
        if len(sizes) != 1:
            raise TinyCNNError(f"inputs have different batch sizes {sorted(sizes)}")
        n = sizes.pop()
        if n == 0:
            raise TinyCNNError("the input batch is empty")
        return n

    @property
    def input_shapes(self):
        return [self.graph.tensors[i].shape for i in self.graph.inputs]

    @property
    def output_names(self):
        """Source-model names of the outputs (ONNX/TFLite output names), in order."""
        return edges.output_names(self.graph)


def _freeze_constants(graph):
    for t in graph.tensors.values():
        if t.is_const and t.data.flags.writeable:
            t.data = t.data.copy()
            t.data.flags.writeable = False
    for node in graph.nodes:
        for k, v in node.params.items():
            if v.flags.writeable:
                v = v.copy()
                v.flags.writeable = False
                node.params[k] = v


def load(path) -> Model:
    """Read and validate a .tcnn blob and prepare it for running."""
    from tinycnn.blob.reader import read_blob
    return Model(read_blob(path), path=str(path))
