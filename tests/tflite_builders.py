"""Write small single-op .tflite models directly (flatbuffers + the TFLite schema's object API
shipped with tflite-micro), so TFLite Micro can serve as the oracle for randomized op tests."""
from __future__ import annotations

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

TYPES = {np.dtype(np.float32): 0, np.dtype(np.int32): 2, np.dtype(np.uint8): 3,
         np.dtype(np.int64): 4, np.dtype(np.int16): 7, np.dtype(np.int8): 9}


class ModelWriter:
    def __init__(self):
        self.tensors, self.buffers, self.ops, self.codes = [], [fb.BufferT()], [], []
        self.inputs, self.outputs = [], []

    def tensor(self, shape, dtype=np.int8, scale=None, zero_point=None, data=None, qdim=0, name=None):
        t = fb.TensorT()
        t.shape = list(shape)
        t.type = TYPES[np.dtype(dtype)]
        t.name = name or f"t{len(self.tensors)}"
        if data is not None:
            b = fb.BufferT()
            b.data = list(np.ascontiguousarray(np.asarray(data, dtype)).tobytes())
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        if scale is not None:
            q = fb.QuantizationParametersT()
            q.scale = [float(s) for s in np.atleast_1d(scale)]
            zp = np.zeros(len(q.scale), np.int64) if zero_point is None else np.atleast_1d(zero_point)
            q.zeroPoint = [int(z) for z in zp]
            q.quantizedDimension = qdim
            t.quantization = q
        self.tensors.append(t)
        return len(self.tensors) - 1

    def op(self, name, inputs, outputs, options=None, options_type=None, custom=None, version=1):
        code = fb.OperatorCodeT()
        if custom:
            code.builtinCode = code.deprecatedBuiltinCode = fb.BuiltinOperator.CUSTOM
            code.customCode = custom
        else:
            bc = getattr(fb.BuiltinOperator, name)
            code.builtinCode = bc
            code.deprecatedBuiltinCode = min(bc, 127)
        code.version = version
        self.codes.append(code)
        o = fb.OperatorT()
        o.opcodeIndex = len(self.codes) - 1
        o.inputs, o.outputs = list(inputs), list(outputs)
        if options is not None:
            o.builtinOptionsType = getattr(fb.BuiltinOptions, options_type or type(options).__name__[:-1])
            o.builtinOptions = options
        self.ops.append(o)

    def to_bytes(self, n_subgraphs=1) -> bytes:
        m = fb.ModelT()
        m.version = 3
        m.operatorCodes = self.codes
        subgraphs = []
        for _ in range(n_subgraphs):
            sg = fb.SubGraphT()
            sg.tensors, sg.operators = self.tensors, self.ops
            sg.inputs, sg.outputs = self.inputs, self.outputs
            subgraphs.append(sg)
        m.subgraphs = subgraphs
        m.buffers = self.buffers
        b = flatbuffers.Builder(1024)
        b.Finish(m.Pack(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def options(cls_name, **fields):
    o = getattr(fb, cls_name + "T")()
    for k, v in fields.items():
        setattr(o, k, v)
    return o


def single_op(tmp_path, name, op, in_specs, out_spec, opts=None, consts=(), fname=None):
    """in_specs: list of (shape, scale, zp) activations; consts: list of (shape, dtype, data, scale,
    zp, qdim) constant operands appended after the activations; out_spec: (shape, scale, zp)."""
    w = ModelWriter()
    ins = [w.tensor(s, np.int8, sc, zp) for s, sc, zp in in_specs]
    cins = [w.tensor(s, dt, sc, zp, data=d, qdim=qd) if s is not None else -1
            for s, dt, d, sc, zp, qd in consts]
    out = w.tensor(out_spec[0], np.int8, out_spec[1], out_spec[2])
    w.op(op, ins + cins, [out], opts)
    w.inputs, w.outputs = ins, [out]
    path = tmp_path / (fname or f"{name}.tflite")
    path.write_bytes(w.to_bytes())
    return path
