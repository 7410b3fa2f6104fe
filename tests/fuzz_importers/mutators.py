"""Deterministic mutants of the fixture models and data files: case (target, seed) -> file.

Byte mutations (flip / overwrite / truncate / insert) work on every format; structural ones
use the format's own library (onnx for ONNX, zipfile for .keras, h5py for .h5, numpy/zipfile
for data files) so that the mutant still parses far enough to reach the importer's logic.
"""
from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent.parent / "data"
TARGETS = {
    "onnx": DATA / "onnx" / "misc_ops.onnx",
    "tflite": DATA / "tflite" / "ds_cnn_kws.tflite",
    "keras": next(iter(sorted((DATA / "keras").glob("*.keras"))), None),
    "h5": next(iter(sorted((DATA / "keras").glob("*.h5"))), None),
    "npz": DATA / "onnx" / "constants_data.npz",
}
SUFFIX = {"onnx": ".onnx", "tflite": ".tflite", "keras": ".keras", "h5": ".h5", "npz": ".npz"}


def byte_mutation(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    kind = rng.randrange(4)
    if kind == 0:  # flip a few bits
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif kind == 1:  # overwrite a run with extreme values
        i = rng.randrange(len(b))
        b[i:i + rng.randint(1, 8)] = bytes([rng.choice((0, 0xFF, 0x7F, 0x80))]) * rng.randint(1, 8)
    elif kind == 2:  # truncate
        del b[rng.randrange(len(b)):]
    else:  # insert garbage
        i = rng.randrange(len(b))
        b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return bytes(b)


def onnx_mutation(data: bytes, rng: random.Random) -> bytes:
    import onnx
    from onnx import helper
    m = onnx.load_from_string(data)
    g = m.graph
    kind = rng.randrange(6)
    nodes = list(g.node)
    node = rng.choice(nodes)
    if kind == 0 and node.attribute:  # an attribute of the wrong type
        a = rng.choice(node.attribute)
        new = rng.choice([helper.make_attribute(a.name, "ab"), helper.make_attribute(a.name, 1.5),
                          helper.make_attribute(a.name, [2**40, -1])])
        node.attribute.remove(a)
        node.attribute.append(new)
    elif kind == 1 and node.input:  # a missing input name
        node.input[rng.randrange(len(node.input))] = "does_not_exist"
    elif kind == 2 and g.initializer:  # raw data of the wrong length / huge dims
        init = rng.choice(g.initializer)
        if rng.random() < 0.5:
            init.raw_data = init.raw_data[: len(init.raw_data) // 2] if init.raw_data else b"\0" * 3
        else:
            init.dims[0] = 2**62
    elif kind == 3:  # duplicate an output name (cycle / redefinition)
        other = rng.choice(nodes)
        if other.output and node.input:
            node.input[0] = other.output[0]
    elif kind == 4:  # a huge constant-folded tensor, used or not
        shape = helper.make_tensor("big_shape", onnx.TensorProto.INT64, [3], [1024, 1024, 768])
        g.node.insert(0, helper.make_node("ConstantOfShape", ["big_shape_c"], ["big"]))
        g.node.insert(0, helper.make_node("Constant", [], ["big_shape_c"], value=shape))
    else:  # reorder: a node before its producer
        if len(nodes) > 2:
            i = rng.randrange(1, len(nodes))
            n = g.node[i]
            g.node.remove(n)
            g.node.insert(0, n)
    return m.SerializeToString()


def keras_mutation(data: bytes, rng: random.Random) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    members = {n: src.read(n) for n in src.namelist()}
    kind = rng.randrange(4)
    if kind == 0:
        members["config.json"] = ("[" * 100000 + "]" * 100000).encode()  # RecursionError bait
    elif kind == 1:  # a config value of the wrong type
        cfg = json.loads(members["config.json"])
        layers = cfg.get("config", {}).get("layers", [])
        if layers:
            layer = rng.choice(layers)
            key = rng.choice(list(layer.get("config", {"x": 0})) or ["x"])
            layer.setdefault("config", {})[key] = rng.choice([None, "s", [1, "a"], {"a": 1}, 1e308, -7])
        members["config.json"] = json.dumps(cfg).encode()
    elif kind == 2:
        members.pop(rng.choice(sorted(members)))
    else:
        members["model.weights.h5"] = byte_mutation(members["model.weights.h5"], rng)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for n, v in members.items():
            z.writestr(n, v)
    return out.getvalue()


def npz_mutation(data: bytes, rng: random.Random) -> bytes:
    kind = rng.randrange(6)
    out = io.BytesIO()
    arrays = {
        0: {"x": np.array(3.0)},
        1: {"x": np.zeros((2, 2), np.complex64)},
        2: {"x": np.zeros((2, 3), np.float32), "y": np.array([np.nan, 1.0])},
        3: {"x": np.array(["a", "b"])},
        4: {},
        5: {"x": np.zeros((2, 2), "datetime64[s]")},
    }[kind]
    np.savez(out, **arrays)
    return out.getvalue()


def tflite_mutation(data: bytes, rng: random.Random) -> bytes:
    """Edit the flatbuffer through the TFLite schema's object API (shipped with tflite-micro) and
    re-pack it, so the mutant is a well-formed flatbuffer whose contents lie."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb
    m = fb.ModelT.InitFromPackedBuf(bytearray(data), 0)
    sg = m.subgraphs[0]
    op = rng.choice(sg.operators)
    t = rng.choice(sg.tensors)
    extreme = rng.choice([-7, -1, 0, 2**31 - 1, len(sg.tensors), 10**6])
    kind = rng.randrange(8)
    if kind == 0:  # an operator's input / output tensor index
        vec = op.inputs if rng.random() < 0.7 or not len(op.outputs) else op.outputs
        vec[rng.randrange(len(vec))] = extreme if rng.random() < 0.5 else rng.randrange(len(sg.tensors))
    elif kind == 1:  # an option field (strides, padding, dilation, activation, ...)
        opts = op.builtinOptions
        fields = [k for k, v in vars(opts).items() if isinstance(v, int)] if opts is not None else []
        if fields:
            setattr(opts, rng.choice(fields), rng.choice([0, -1, 7, 2**15, 255]))
    elif kind == 2:  # a tensor's shape
        t.shape = [rng.choice([0, 1, -1, 3, 2**20]) for _ in range(rng.choice([0, 1, 4, 6]))]
    elif kind == 3:  # a tensor's type
        t.type = rng.choice([0, 1, 2, 3, 4, 6, 7, 9, 10, 15, 16, 99])
    elif kind == 4 and t.quantization is not None:  # quantization parameters
        q = t.quantization
        choice = rng.randrange(3)
        if choice == 0 and q.scale is not None:
            q.scale = [rng.choice([0.0, -1.0, float("inf"), float("nan"), 1e-45])] * len(q.scale)
        elif choice == 1 and q.zeroPoint is not None:
            q.zeroPoint = [rng.choice([-129, 128, 2**40, 300])] * len(q.zeroPoint)
        else:
            q.quantizedDimension = rng.choice([-1, 3, 7])
    elif kind == 5:  # the operator code index / the code itself
        if rng.random() < 0.5:
            op.opcodeIndex = rng.choice([len(m.operatorCodes), 255])
        else:
            c = rng.choice(m.operatorCodes)
            c.builtinCode = c.deprecatedBuiltinCode = rng.randrange(127)
    elif kind == 6:  # a tensor's buffer
        t.buffer = rng.choice([0, len(m.buffers), 2**30, rng.randrange(len(m.buffers))])
    else:  # graph inputs / outputs
        vec = sg.inputs if rng.random() < 0.5 else sg.outputs
        vec[rng.randrange(len(vec))] = extreme
    b = flatbuffers.Builder(len(data) + 1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def h5_mutation(data: bytes, rng: random.Random) -> bytes:
    """Rewrite a Keras .h5 through h5py: a weight dataset of the wrong shape or dtype, a
    missing or wrong-typed attribute, or a link to a dataset outside the file."""
    import tempfile

    import h5py
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.h5"
        path.write_bytes(data)
        with h5py.File(path, "r+") as f:
            datasets = []
            f.visititems(lambda name, obj: datasets.append(name) if isinstance(obj, h5py.Dataset) else None)
            kind = rng.randrange(5)
            name = rng.choice(datasets) if datasets else None
            if kind == 0 and name:  # wrong shape
                arr = f[name][()]
                del f[name]
                f[name] = np.zeros(rng.choice([(0,), (1, 2, 3), (arr.size + 1,)]), np.float32)
            elif kind == 1 and name:  # wrong dtype
                arr = f[name][()]
                del f[name]
                f[name] = np.asarray(arr).astype(rng.choice(["int64", "float16", "S4", "bool"]))
            elif kind == 2:  # a broken or foreign config attribute
                f.attrs["model_config"] = rng.choice([b"{", b"[]" * 3, json.dumps({"class_name": 7}).encode(),
                                                      np.arange(4)])
            elif kind == 3 and name:  # an external link where a dataset was
                del f[name]
                f[name] = h5py.ExternalLink("/etc/passwd", "/x")
            elif name:  # a soft link that points at itself
                del f[name]
                f[name] = h5py.SoftLink("/" + name)
        return path.read_bytes()


STRUCTURAL = {"onnx": onnx_mutation, "keras": keras_mutation, "npz": npz_mutation,
              "tflite": tflite_mutation, "h5": h5_mutation}


def make_case(target: str, seed: int) -> bytes:
    rng = random.Random(f"{target}:{seed}")
    data = TARGETS[target].read_bytes()
    if target in STRUCTURAL and rng.random() < 0.5:
        try:
            return STRUCTURAL[target](data, rng)
        except Exception:  # the mutator itself could not apply: fall back to bytes
            pass
    return byte_mutation(data, rng)
