"""Read a .tflite flatbuffer (schema classes of the ``tflite`` PyPI package; no TensorFlow)
into plain Python records: tensors (shape, dtype, constant data, quantization) and operators
(builtin name, version, inputs, outputs, options as a dict)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from tinycnn.errors import TinyCNNError, UnsupportedModelError

TFLITE_DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 6: np.bool_,
                 7: np.int16, 9: np.int8, 10: np.float64, 15: np.uint32, 16: np.uint16}
_SKIP_METHODS = re.compile(r"^(Init|GetRootAs.*|.*BufferHasIdentifier|.*AsNumpy|.*Length|.*IsNone)$")


@dataclass
class TfliteTensor:
    index: int
    name: str
    shape: tuple
    dtype: type
    data: np.ndarray | None = None  # constant buffer contents, reshaped
    scale: np.ndarray | None = None  # float32[...] or None (not quantized)
    zero_point: np.ndarray | None = None
    quantized_dimension: int = 0

    @property
    def quantized(self) -> bool:
        return self.scale is not None and self.scale.size > 0


@dataclass
class TfliteOperator:
    index: int
    op: str  # builtin operator name, e.g. "CONV_2D"
    version: int
    inputs: list  # tensor indices (-1 = optional input absent)
    outputs: list
    options: dict = field(default_factory=dict)


@dataclass
class TfliteModel:
    path: str
    tensors: list
    operators: list
    inputs: list
    outputs: list
    description: str = ""


def _schema():
    try:
        import tflite  # the flatbuffer schema classes (PyPI 'tflite')
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise TinyCNNError("reading .tflite files needs the 'tflite' package: pip install tflite") from exc
    return tflite


def _enum_names(enum_cls) -> dict:
    return {v: k for k, v in vars(enum_cls).items() if not k.startswith("_") and isinstance(v, int)}


def _read_options(tfl, op_obj) -> dict:
    opt_type = op_obj.BuiltinOptionsType()
    if opt_type == 0 or op_obj.BuiltinOptions() is None:
        return {}
    type_name = _enum_names(tfl.BuiltinOptions).get(opt_type)
    cls = getattr(tfl, type_name, None) if type_name else None
    if cls is None:
        return {}
    obj = cls()
    table = op_obj.BuiltinOptions()
    obj.Init(table.Bytes, table.Pos)
    out = {}
    for name in dir(cls):
        if name.startswith("_") or not name[0].isupper() or _SKIP_METHODS.match(name):
            continue
        try:
            out[name] = getattr(obj, name)()
        except TypeError:  # vector accessors need an index
            if hasattr(obj, name + "AsNumpy"):
                v = getattr(obj, name + "AsNumpy")()
                out[name] = [] if isinstance(v, int) else v.tolist()
    return out


def read_tflite(path) -> TfliteModel:
    tfl = _schema()
    path = str(path)
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8:
        raise TinyCNNError(f"{path}: not a TFLite flatbuffer ({len(buf)} bytes is too short)")
    if buf[4:8] != b"TFL3":
        raise TinyCNNError(f"{path}: not a TFLite flatbuffer (file identifier {buf[4:8]!r}, "
                           f"expected b'TFL3')")
    try:
        return _parse(tfl, buf, path)
    except TinyCNNError:
        raise
    except Exception as exc:  # corrupt offsets inside the flatbuffer
        raise TinyCNNError(f"{path}: corrupt TFLite flatbuffer ({type(exc).__name__}: {exc})") from exc


def _parse(tfl, buf, path) -> TfliteModel:
    model = tfl.Model.GetRootAsModel(buf, 0)
    n_sub = model.SubgraphsLength()
    if n_sub != 1:
        raise UnsupportedModelError(path, "<model>", "SUBGRAPHS",
                                    f"the model has {n_sub} subgraphs; only single-subgraph models "
                                    "(no control flow) are supported")
    sg = model.Subgraphs(0)
    op_names = _enum_names(tfl.BuiltinOperator)
    codes = []
    for i in range(model.OperatorCodesLength()):
        c = model.OperatorCodes(i)
        code = max(c.BuiltinCode(), c.DeprecatedBuiltinCode())
        name = op_names.get(code, f"BUILTIN_{code}")
        if name == "CUSTOM":
            custom = c.CustomCode()
            name = "CUSTOM:" + (custom.decode("utf-8", "replace") if custom else "?")
        codes.append((name, c.Version()))
    tensors = [_read_tensor(model, sg.Tensors(i), i, buf, path) for i in range(sg.TensorsLength())]
    operators = []
    for i in range(sg.OperatorsLength()):
        o = sg.Operators(i)
        if not 0 <= o.OpcodeIndex() < len(codes):
            raise TinyCNNError(f"{path}: operator {i} uses operator code {o.OpcodeIndex()}, but the "
                               f"file defines {len(codes)}: the file is corrupt")
        name, version = codes[o.OpcodeIndex()]
        ins = o.InputsAsNumpy().tolist() if o.InputsLength() else []
        outs = o.OutputsAsNumpy().tolist() if o.OutputsLength() else []
        operators.append(TfliteOperator(i, name, version, ins, outs, _read_options(tfl, o)))
    inputs = sg.InputsAsNumpy().tolist() if sg.InputsLength() else []
    outputs = sg.OutputsAsNumpy().tolist() if sg.OutputsLength() else []
    desc = model.Description()
    result = TfliteModel(path, tensors, operators, inputs, outputs,
                         desc.decode("utf-8", "replace") if desc else "")
    check_structure(result)
    return result


# options that must be >= 1 wherever an operator carries them (a 0 stride divides by zero)
_POSITIVE_OPTIONS = ("StrideW", "StrideH", "DilationWFactor", "DilationHFactor", "FilterWidth",
                     "FilterHeight", "DepthMultiplier", "BlockSize")


# op -> (minimum number of inputs, {input position: allowed ranks}); what the importer's handlers
# index into, checked before they run (an absent optional input, index -1, is not checked)
_OPERANDS = {
    "CONV_2D": (2, {0: (4,), 1: (4,), 2: (1,)}),
    "DEPTHWISE_CONV_2D": (2, {0: (4,), 1: (4,), 2: (1,)}),
    "TRANSPOSE_CONV": (3, {0: (1,), 1: (4,), 2: (4,), 3: (1,)}),
    "FULLY_CONNECTED": (2, {1: (2,), 2: (1,)}),
    "AVERAGE_POOL_2D": (1, {0: (4,)}), "MAX_POOL_2D": (1, {0: (4,)}),
    "L2_POOL_2D": (1, {0: (4,)}),
    "MEAN": (2, {1: (0, 1)}), "SUM": (2, {1: (0, 1)}), "REDUCE_MAX": (2, {1: (0, 1)}),
    "RESIZE_BILINEAR": (2, {0: (4,), 1: (1,)}), "RESIZE_NEAREST_NEIGHBOR": (2, {0: (4,), 1: (1,)}),
    "DEPTH_TO_SPACE": (1, {0: (4,)}), "SPACE_TO_DEPTH": (1, {0: (4,)}),
    "PAD": (2, {1: (2,)}), "PADV2": (2, {1: (2,)}), "MIRROR_PAD": (2, {1: (2,)}),
    "STRIDED_SLICE": (4, {1: (1,), 2: (1,), 3: (1,)}),
    "ADD": (2, {}), "SUB": (2, {}), "MUL": (2, {}), "PRELU": (2, {}), "MAXIMUM": (2, {}),
    "MINIMUM": (2, {}), "SQUARED_DIFFERENCE": (2, {}), "RESHAPE": (1, {}),
    "ARG_MAX": (2, {1: (0, 1)}), "ARG_MIN": (2, {1: (0, 1)}),
}


def _check_operands(m: TfliteModel, op, label: str) -> None:
    need, ranks = _OPERANDS.get(op.op, (1 if op.op not in ("CUSTOM",) else 0, {}))
    if len(op.inputs) < need or not op.outputs:
        raise UnsupportedModelError(m.path, label, op.op, f"has {len(op.inputs)} inputs and "
                                    f"{len(op.outputs)} outputs; {op.op} needs at least {need} "
                                    "inputs and one output: the file is corrupt")
    for pos in range(need):
        if op.inputs[pos] < 0:
            raise UnsupportedModelError(m.path, label, op.op, f"input {pos} is absent (index -1), but "
                                        f"{op.op} requires it: the file is corrupt")
    for pos, allowed in ranks.items():
        if pos < len(op.inputs) and op.inputs[pos] >= 0:
            t = m.tensors[op.inputs[pos]]
            if len(t.shape) not in allowed:
                want = " or ".join(str(r) for r in allowed)
                raise UnsupportedModelError(m.path, label, op.op, f"input {pos} '{t.name}' has shape "
                                            f"{t.shape} (rank {len(t.shape)}); {op.op} needs rank {want} "
                                            "there")


def _spatial(size, k, stride, dil, padding):
    eff = (k - 1) * dil + 1
    return -(-size // stride) if padding == 0 else -(-(size - eff + 1) // stride)  # SAME=0, VALID=1


def _check_shapes(m: TfliteModel, op, label: str) -> None:
    """Output shapes of the window ops and channel counts of weights and biases agree with the
    operands, as TFLite's own Prepare() checks them (tensors are NHWC; CONV_2D weights OHWI,
    DEPTHWISE_CONV_2D 1HWO, FULLY_CONNECTED [out, in])."""
    shapes = [m.tensors[i].shape if i >= 0 else None for i in op.inputs]
    y = m.tensors[op.outputs[0]].shape
    o = op.options
    expect = None
    if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D"):
        x = shapes[0]
        if op.op == "CONV_2D":
            cout, kh, kw, cig = shapes[1]
            if cig < 1 or x[3] % cig:
                raise UnsupportedModelError(m.path, label, op.op, f"input has {x[3]} channels, weights "
                                            f"{shapes[1]} take {cig} per group")
            dil = (o.get("DilationHFactor", 1), o.get("DilationWFactor", 1))
        elif op.op == "DEPTHWISE_CONV_2D":
            _, kh, kw, cout = shapes[1]
            if x[3] < 1 or cout % x[3]:
                raise UnsupportedModelError(m.path, label, op.op, f"{cout} output channels are not a "
                                            f"multiple of the input's {x[3]}")
            dil = (o.get("DilationHFactor", 1), o.get("DilationWFactor", 1))
        else:
            kh, kw, cout, dil = o.get("FilterHeight", 1), o.get("FilterWidth", 1), x[3], (1, 1)
        pad = o.get("Padding", 0)
        expect = (x[0], _spatial(x[1], kh, o.get("StrideH", 1), dil[0], pad),
                  _spatial(x[2], kw, o.get("StrideW", 1), dil[1], pad), cout)
        bias_pos = 2 if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D") else None
    elif op.op == "FULLY_CONNECTED":
        cout, cin = shapes[1]
        x = shapes[0]
        if cin < 1 or int(np.prod(x, dtype=np.int64)) % cin:
            raise UnsupportedModelError(m.path, label, op.op, f"input {x} cannot be read as rows of "
                                        f"{cin} features (weights {shapes[1]})")
        if y and y[-1] != cout:
            raise UnsupportedModelError(m.path, label, op.op, f"output {y} does not end in the "
                                        f"weights' {cout} units")
        bias_pos = 2
    else:
        return
    if expect is not None and tuple(y) != expect:
        raise UnsupportedModelError(m.path, label, op.op, f"output shape {tuple(y)} does not follow "
                                    f"from input {shapes[0]} (expected {expect}): the file is corrupt")
    if bias_pos is not None and len(shapes) > bias_pos and shapes[bias_pos] is not None \
            and shapes[bias_pos] != (cout,):
        raise UnsupportedModelError(m.path, label, op.op, f"bias shape {shapes[bias_pos]} does not "
                                    f"match {cout} output channels")


def check_structure(m: TfliteModel) -> None:
    """Refuse index and option values that no valid file has, naming the operator, before any
    importer code indexes with them: tensor indices out of range, an operator output that is a
    constant, a graph input or another operator's output, graph inputs/outputs out of range,
    strides/dilations/filter sizes/block sizes below 1, negative dimensions."""
    n = len(m.tensors)
    corrupt = "the file is corrupt"
    for t in m.tensors:
        if any(d < 0 for d in t.shape):
            raise UnsupportedModelError(m.path, t.name, "TENSOR", f"shape {t.shape} has a negative "
                                        f"dimension: {corrupt}")
    for kind, idx in (("input", m.inputs), ("output", m.outputs)):
        for i in idx:
            if not 0 <= i < n:
                raise TinyCNNError(f"{m.path}: graph {kind} is tensor {i}, but the subgraph has {n} "
                                   f"tensors: {corrupt}")
    produced = {i: "a graph input" for i in m.inputs}
    for op in m.operators:
        label = f"operator {op.index}"
        if op.outputs and 0 <= op.outputs[0] < n:
            label += f" -> '{m.tensors[op.outputs[0]].name}'"
        for i in op.inputs:
            if not -1 <= i < n:
                raise UnsupportedModelError(m.path, label, op.op, f"input tensor index {i} is outside "
                                            f"0..{n - 1}: {corrupt}")
        for i in op.outputs:
            if not 0 <= i < n:
                raise UnsupportedModelError(m.path, label, op.op, f"output tensor index {i} is outside "
                                            f"0..{n - 1}: {corrupt}")
            if m.tensors[i].data is not None:
                raise UnsupportedModelError(m.path, label, op.op, f"writes tensor '{m.tensors[i].name}', "
                                            f"which is a constant: {corrupt}")
            if i in produced:
                raise UnsupportedModelError(m.path, label, op.op, f"writes tensor '{m.tensors[i].name}', "
                                            f"which is already {produced[i]}: {corrupt}")
            produced[i] = f"written by operator {op.index} ({op.op})"
        for key in _POSITIVE_OPTIONS:
            v = op.options.get(key)
            if isinstance(v, int) and v < 1:
                raise UnsupportedModelError(m.path, label, op.op, f"option {key}={v}; it must be "
                                            f">= 1: {corrupt}")
        _check_operands(m, op, label)
        _check_shapes(m, op, label)


def _read_tensor(model, t, index, buf, path) -> TfliteTensor:
    name = t.Name().decode("utf-8", "replace") if t.Name() else f"tensor_{index}"
    shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
    ttype = t.Type()
    dtype = TFLITE_DTYPES.get(ttype)
    tensor = TfliteTensor(index, name, shape, dtype)
    if t.Buffer() >= model.BuffersLength():
        raise UnsupportedModelError(path, name, "TENSOR", f"buffer index {t.Buffer()} is outside the "
                                    f"file's {model.BuffersLength()} buffers: the file is corrupt")
    b = model.Buffers(t.Buffer())
    raw = None
    if b is not None:
        if b.DataLength():
            raw = b.DataAsNumpy().tobytes()
        elif b.Offset() > 1:  # data stored after the flatbuffer (models > 2 GB)
            raw = buf[b.Offset():b.Offset() + b.Size()]
    if raw:
        if dtype is None:
            raise UnsupportedModelError(path, name, "TENSOR", f"constant of TFLite type {ttype} not supported")
        data = np.frombuffer(raw, dtype=dtype)
        count = int(np.prod(shape)) if shape else 1
        if data.size != count:
            raise TinyCNNError(f"{path}: tensor '{name}' holds {data.size} values, shape {shape} "
                               f"needs {count}")
        tensor.data = data.reshape(shape).copy()
    q = t.Quantization()
    if q is not None and q.ScaleLength():
        tensor.scale = q.ScaleAsNumpy().astype(np.float32)
        zp = q.ZeroPointAsNumpy() if q.ZeroPointLength() else np.zeros(q.ScaleLength(), np.int64)
        tensor.zero_point = np.asarray(zp, np.int64)
        tensor.quantized_dimension = int(q.QuantizedDimension())
    return tensor
