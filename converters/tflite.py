"""TFLite flatbuffer -> tinycnn IR.

Float32 models import as a float graph (then optimized and quantized by tinycnn like ONNX or
Keras). int8 models import as an already-quantized graph that keeps every scale and zero point;
its integer parameters are then computed with TFLite Micro's formulas so tinycnn's kernels are
bit-exact with TFLM (converters/tflite_quant.py). Legacy uint8 (asymmetric, TF1-era) models
are converted losslessly to int8: every uint8 value and zero point is shifted by -128 and uint8
weights are stored as int8 ``w - 128`` plus a per-layer ``weight_offset`` (kernel variant "uint8").

QUANTIZE (float -> int8) on a graph input and DEQUANTIZE on a graph output (float-interface
models) become the graph's input/output quantization: the graph input is the int8 tensor.
IR tensors keep the TFLite tensor names; ``graph.meta["tflite_tensor_index"]`` maps an IR tensor
name to its TFLite tensor index (used by ``tinycnn compare``).
"""
from __future__ import annotations

import numpy as np

from converters.tflite_format import TfliteModel, TfliteOperator, read_tflite
from tinycnn.errors import UnsupportedModelError
from tinycnn.ir import Graph, Node, Op, QuantParams


class TfliteImporter:
    def __init__(self, model: TfliteModel):
        self.model = model
        self.path = model.path
        self.graph = Graph(name=_stem(model.path), meta={
            "source_path": model.path, "source_format": "tflite",
            "input_layouts": [], "output_layouts": [], "tflite_tensor_index": {}})
        _normalize_quantized_dimension(model)
        self.names: dict[int, str] = {}
        self.weight_offsets: dict[str, int] = {}  # legacy uint8: IR weight name -> 128 - zero point
        self.consumers: dict[int, list] = {}
        for op in model.operators:
            for i in op.inputs:
                self.consumers.setdefault(i, []).append(op)
        acts = [t for t in model.tensors if t.data is None]
        self.int16 = any(t.dtype == np.int16 and t.quantized for t in acts)  # 16x8 (tflite_int16.py)
        self.quantized = self.int16 or any(t.dtype in (np.int8, np.uint8) and t.quantized for t in acts)
        self.uint8 = any(t.dtype == np.uint8 and t.quantized for t in acts)

    # ---- tensors ----
    def tensor(self, idx: int):
        return self.model.tensors[idx]

    def quant_of(self, t, axis_map=None) -> QuantParams | None:
        if not t.quantized or not self.quantized:
            return None
        if not (np.isfinite(t.scale).all() and (t.scale > 0).all()):
            raise UnsupportedModelError(self.path, t.name, "TENSOR", f"quantization scale "
                                        f"{t.scale.reshape(-1)[:4].tolist()} is not a positive "
                                        "finite number: the file is corrupt")
        zp = t.zero_point.astype(np.int64)
        if t.dtype == np.uint8:
            zp = zp - 128
        axis = None
        if t.scale.size > 1:  # per-channel; a quantized_dimension on per-tensor params is ignored
            axis = axis_map(t.quantized_dimension) if axis_map else t.quantized_dimension
        return QuantParams(t.scale.astype(np.float32), zp.astype(np.int32), axis)

    def _ir_dtype(self, t) -> str:
        if t.dtype in (np.int8, np.uint8) and self.quantized:
            return "int8"
        if t.dtype == np.float32:
            return "float32"
        return np.dtype(t.dtype).name

    def _unique(self, name: str) -> str:
        return self.graph.unique_name(name or "tensor")

    def value(self, idx: int, op: TfliteOperator | None = None) -> str:
        """IR name of a TFLite tensor used as an operand (constants are created on first use)."""
        if idx in self.names:
            return self.names[idx]
        t = self.tensor(idx)
        if t.data is None:
            where = op.op if op else "?"
            raise UnsupportedModelError(self.path, t.name, where,
                                        f"tensor {idx} is used before it is produced")
        data = t.data
        dtype = self._ir_dtype(t)
        if t.dtype == np.uint8 and self.quantized:
            data = (data.astype(np.int16) - 128).astype(np.int8)
        elif data.dtype == np.float16 or (not self.quantized and t.quantized):
            data, dtype = self.float_const(t, op), "float32"
        name = self._unique(t.name)
        data = np.ascontiguousarray(data)  # scalars become shape (1,)
        self.graph.add_tensor(name, data.shape, dtype, data, self.quant_of(t))
        self.names[idx] = name
        self.graph.meta["tflite_tensor_index"][name] = idx
        return name

    def float_const(self, t, op: TfliteOperator | None = None) -> np.ndarray:
        """A constant of a float graph as float32: float16 is widened, a quantized integer
        constant (hybrid / dynamic-range weights) is dequantized (q - zero_point) * scale along
        its quantized_dimension. Integers without scales are refused, never used as reals."""
        data = t.data
        if data.dtype in (np.float32, np.float16, np.float64):
            return data.astype(np.float32)
        if not t.quantized:
            where = op.op if op else "TENSOR"
            raise UnsupportedModelError(self.path, t.name, where, f"{data.dtype.name} constant "
                                        "without quantization scales where a float value is expected")
        return dequantize_array(data, t.scale, t.zero_point, t.quantized_dimension)

    def const_array(self, idx: int, op: TfliteOperator) -> np.ndarray:
        t = self.tensor(idx)
        if t.data is None:
            raise UnsupportedModelError(self.path, self.out_name(op), op.op,
                                        f"operand '{t.name}' must be a constant")
        return t.data

    def activation(self, idx: int, name: str | None = None, tflite_index=True) -> str:
        """Create the IR activation tensor for TFLite tensor idx (batch dim stored as -1)."""
        t = self.tensor(idx)
        if t.dtype not in (np.float32, np.int8, np.uint8) and not (t.dtype == np.int16 and self.int16):
            raise UnsupportedModelError(self.path, t.name, "TENSOR",
                                        f"activation type {np.dtype(t.dtype).name} is not supported")
        shape = (-1,) + tuple(t.shape[1:]) if t.shape else (-1,)
        name = self._unique(name or t.name)
        self.graph.add_tensor(name, shape, self._ir_dtype(t), None, self.quant_of(t))
        if tflite_index:
            self.names[idx] = name
            self.graph.meta["tflite_tensor_index"][name] = idx
        return name

    def out_name(self, op: TfliteOperator) -> str:
        return self.tensor(op.outputs[0]).name

    # ---- nodes ----
    def emit(self, op: TfliteOperator, ir_op: Op, inputs: list, attrs=None, out_idx=None,
             out_name=None) -> str:
        """Append a node producing TFLite tensor out_idx (default: the op's first output), or an
        intermediate tensor named out_name when out_idx is False."""
        attrs = dict(attrs or {})
        attrs.setdefault("source_name", self.out_name(op))
        attrs.setdefault("source_op", op.op)
        attrs.setdefault("tflite_op", op.op)
        if out_idx is False:
            out = out_name
        else:
            out = self.activation(op.outputs[0] if out_idx is None else out_idx)
        self.graph.nodes.append(Node(out, ir_op, list(inputs), [out], attrs))
        return out

    def intermediate(self, like_idx: int, shape: tuple, suffix: str) -> str:
        t = self.tensor(like_idx)
        name = self._unique(f"{t.name}{suffix}")
        self.graph.add_tensor(name, shape, self._ir_dtype(t), None, self.quant_of(t))
        return name

    def unsupported(self, op: TfliteOperator, reason: str, supported=None):
        raise UnsupportedModelError(self.path, self.out_name(op) if op.outputs else f"op {op.index}",
                                    op.op, reason, supported=supported)



def dequantize_array(data, scale, zero_point, axis) -> np.ndarray:
    """(q - zero_point) * scale, per tensor or per channel along ``axis``; float32 result."""
    scale = np.asarray(scale, np.float64).reshape(-1)
    zp = np.asarray(zero_point, np.float64).reshape(-1)
    if scale.size > 1:
        shape = [1] * data.ndim
        shape[axis] = -1
        scale, zp = scale.reshape(shape), zp.reshape(shape)
    return ((data.astype(np.float64) - zp) * scale).astype(np.float32)


def _normalize_quantized_dimension(model):
    """TFLite Micro's own person_detect.tflite puts quantized_dimension=3 on 1-D bias tensors:
    a 1-D tensor's only axis is 0. Out-of-range per-channel axes elsewhere are refused."""
    for t in model.tensors:
        if not t.quantized:
            continue
        rank = max(len(t.shape), 1)
        if t.scale.size == 1 or rank == 1:
            t.quantized_dimension = 0
        elif not 0 <= t.quantized_dimension < rank:
            raise UnsupportedModelError(model.path, t.name, "TENSOR", f"quantized_dimension "
                                        f"{t.quantized_dimension} is outside the tensor's rank {rank}")
        elif t.scale.size != t.shape[t.quantized_dimension]:
            raise UnsupportedModelError(model.path, t.name, "TENSOR", f"{t.scale.size} scales for "
                                        f"{t.shape[t.quantized_dimension]} channels on axis "
                                        f"{t.quantized_dimension}")


def _stem(path) -> str:
    from pathlib import Path
    return Path(path).stem


def _edge_ops(imp: TfliteImporter):
    """QUANTIZE ops on float graph inputs and DEQUANTIZE ops on graph outputs (float interface)."""
    m = imp.model
    edge_in, edge_out = {}, {}
    for op in m.operators:
        if op.op == "QUANTIZE" and op.inputs[0] in m.inputs and imp.tensor(op.inputs[0]).dtype == np.float32:
            if len(imp.consumers.get(op.inputs[0], [])) == 1:
                edge_in[op.inputs[0]] = op
        if op.op == "DEQUANTIZE" and op.outputs[0] in m.outputs and imp.tensor(op.inputs[0]).data is None:
            edge_out[op.outputs[0]] = op
    return edge_in, edge_out


def load_tflite(path) -> Graph:
    from converters.tflite_ops import HANDLERS
    from converters.tflite_int16 import check_int16x8, finish_int16x8
    from converters.tflite_quant import finish_quantized

    model = read_tflite(path)
    imp = TfliteImporter(model)
    g = imp.graph
    edge_in, edge_out = _edge_ops(imp) if imp.quantized else ({}, {})
    skip = {id(op) for op in list(edge_in.values()) + list(edge_out.values())}
    for idx in model.inputs:
        src = edge_in[idx].outputs[0] if idx in edge_in else idx
        name = imp.activation(src)
        g.inputs.append(name)
        g.meta["input_layouts"].append("NHWC")
    for op in model.operators:
        if id(op) in skip:
            continue
        handler = HANDLERS.get(op.op)
        if handler is None:
            kind = "custom op" if op.op.startswith("CUSTOM:") else "builtin op"
            imp.unsupported(op, f"{kind} {op.op.split(':', 1)[-1]!r} is not supported", supported=HANDLERS)
        handler(imp, op)
    for idx in model.outputs:
        src = edge_out[idx].inputs[0] if idx in edge_out else idx
        g.outputs.append(imp.value(src))
        g.meta["output_layouts"].append("plain")
    g.meta["tflite_float_io"] = bool(edge_in or edge_out)
    g.meta["interface_dtypes"] = {k: [np.dtype(imp.tensor(i).dtype).name for i in idx]  # tinycnn/edges.py
                                  for k, idx in (("inputs", model.inputs), ("outputs", model.outputs))}
    if imp.quantized:
        g.meta["scheme"] = "int16x8" if imp.int16 else "int8"
        g.meta["tflite_uint8"] = imp.uint8
        for name in g.inputs + g.outputs:
            if g.tensors[name].dtype not in ("int8", "int16") and not (name in g.outputs and g.tensors[name].dtype == "int32"):
                raise UnsupportedModelError(path, name, "TENSOR", "mixed float/int8 models (hybrid) are "
                                            "not supported: only QUANTIZE on inputs and DEQUANTIZE on "
                                            "outputs may convert between float and int8")
        if imp.int16:
            check_int16x8(imp)
        finish_quantized(imp)
        if imp.int16:
            finish_int16x8(imp)
    else:
        g.meta["scheme"] = "float32"
    g.remove_unused_tensors()
    return g
