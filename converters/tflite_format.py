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
        name, version = codes[o.OpcodeIndex()]
        ins = o.InputsAsNumpy().tolist() if o.InputsLength() else []
        outs = o.OutputsAsNumpy().tolist() if o.OutputsLength() else []
        operators.append(TfliteOperator(i, name, version, ins, outs, _read_options(tfl, o)))
    inputs = sg.InputsAsNumpy().tolist() if sg.InputsLength() else []
    outputs = sg.OutputsAsNumpy().tolist() if sg.OutputsLength() else []
    desc = model.Description()
    return TfliteModel(path, tensors, operators, inputs, outputs,
                       desc.decode("utf-8", "replace") if desc else "")


def _read_tensor(model, t, index, buf, path) -> TfliteTensor:
    name = t.Name().decode("utf-8", "replace") if t.Name() else f"tensor_{index}"
    shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
    ttype = t.Type()
    dtype = TFLITE_DTYPES.get(ttype)
    tensor = TfliteTensor(index, name, shape, dtype)
    b = model.Buffers(t.Buffer()) if t.Buffer() < model.BuffersLength() else None
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
