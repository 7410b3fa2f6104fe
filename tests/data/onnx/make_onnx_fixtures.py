#!/usr/bin/env python3
"""Generate the ONNX test fixtures in tests/data/onnx/ (small CNNs trained on sklearn digits).

How to run (NOT part of CI; the committed .onnx/.npz files are what the tests use):

    python3 -m venv /work/venvs/torch
    /work/venvs/torch/bin/pip install torch==2.13.0 onnx onnxruntime scikit-learn numpy
    /work/venvs/torch/bin/python tests/data/onnx/make_onnx_fixtures.py [NAME ...]

Versions used to produce the committed files: torch 2.13.0+cpu, onnx 1.23.2,
onnxruntime 1.32.0, scikit-learn 1.9.1, numpy 2.4.6.  Everything is seeded (seed 0,
single thread, deterministic algorithms), reruns reproduce the files bit-for-bit on
the same versions.

Export: classic TorchScript exporter (torch.onnx.export(..., dynamo=False)), opset 13
except mobilenet_v3 (opset 14, so that nn.Hardswish becomes a real HardSwish node; at
opset 13 the exporter decomposes it into HardSigmoid+Mul). Input name "input",
output name "output", dynamic batch dim "batch".  Some models are exported with
do_constant_folding=False (BatchNormalization nodes kept), others with folding
(BN fused into Conv by the exporter) - see FOLD below.

Data: sklearn.datasets.load_digits(), float32 x/16.0, NCHW, upsampled 8x8 -> 16x16 by
nearest neighbour (np.kron with ones((2,2))).  Split (seed 0): stratified 20% test
(360 images; the first 300 are stored), rest train; 200 calibration images are a
seeded subset of train.  misc_ops takes 3 channels: [x, 0.5*x, 1-x].

For each NAME: NAME.onnx and NAME_data.npz with x_calib [200,C,16,16] float32,
x_test [300,C,16,16] float32, y_test [300] int64.
"""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 0
N_TEST = 300


# ----------------------------------------------------------------------------- data
def load_data(channels=1):
    d = load_digits()
    x = d.images.astype(np.float32) / 16.0
    x = np.kron(x, np.ones((1, 2, 2), dtype=np.float32))[:, None, :, :]  # [N,1,16,16]
    if channels == 3:
        x = np.concatenate([x, 0.5 * x, 1.0 - x], axis=1).astype(np.float32)
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=SEED, stratify=y)
    rng = np.random.default_rng(SEED)
    x_cal = x_tr[np.sort(rng.choice(len(x_tr), size=200, replace=False))]
    return x_tr, y_tr, x_cal, x_te[:N_TEST], y_te[:N_TEST]


# ----------------------------------------------------------------------------- models
from onnx_fixture_models import (VGG, Inception, MiscOps, MobileNetV1, MobileNetV2,  # noqa: E402
                                 MobileNetV3, ResNet, SmallConv)


def _producers(graph):
    return {o: n for n in graph.node for o in n.output}


def _const_value(graph, name):
    for init in graph.initializer:
        if init.name == name:
            return numpy_helper.to_array(init)
    for n in graph.node:
        if n.op_type == "Constant" and n.output[0] == name:
            return numpy_helper.to_array(n.attribute[0].t)
    raise KeyError(name)


def _prune_dead(g):
    while True:
        used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
        dead = [n for n in g.node if not any(o in used for o in n.output)]
        if not dead:
            break
        for n in dead:
            g.node.remove(n)


def fold_pad_inputs(model, x):
    """The TorchScript exporter emits F.pad's `pads` input at opset 13 as a small shape
    subgraph (ConstantOfShape/Concat/Reshape/Slice/Transpose/Cast) that constant folding
    does not remove.  Evaluate it with onnxruntime and replace it by an int64 initializer,
    so the fixture has a plain Pad(data, pads_initializer)."""
    g = model.graph
    pads_names = [n.input[1] for n in g.node if n.op_type == "Pad"]
    prod = _producers(g)
    todo = [p for p in pads_names if p in prod and prod[p].op_type != "Constant"]
    if not todo:
        return model
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    for p in todo:
        probe.graph.output.append(helper.make_tensor_value_info(p, onnx.TensorProto.INT64, None))
    sess = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    vals = sess.run(todo, {"input": x[:1]})
    for p, v in zip(todo, vals):
        new = p.strip("/").replace("/", "_") + "_folded"
        g.initializer.append(numpy_helper.from_array(v.astype(np.int64), new))
        for n in g.node:
            if n.op_type == "Pad" and n.input[1] == p:
                n.input[1] = new
    _prune_dead(g)
    return model


def conv_same_upper_to_pads(model):
    """misc_ops: Conv(auto_pad=SAME_UPPER, k=2, s=1) -> explicit pads [0,0,1,1]."""
    n_done = 0
    for n in model.graph.node:
        if n.op_type != "Conv":
            continue
        attrs = {a.name: a for a in n.attribute}
        if "auto_pad" in attrs and helper.get_attribute_value(attrs["auto_pad"]) == b"SAME_UPPER":
            assert list(attrs["kernel_shape"].ints) == [2, 2] and list(attrs["strides"].ints) == [1, 1]
            n.attribute.remove(attrs["auto_pad"])
            n.attribute.append(helper.make_attribute("pads", [0, 0, 1, 1]))
            n_done += 1
    assert n_done == 1, n_done
    return model


def to_constants_and_same_upper(model):
    """constants: drop explicit padding in favour of auto_pad=SAME_UPPER on both convs
    (removing the Pad node in front of conv2), then turn every initializer into a
    Constant node placed at the start of the graph."""
    g = model.graph
    prod = _producers(g)
    convs = [n for n in g.node if n.op_type == "Conv"]
    assert len(convs) == 2
    for conv in convs:
        attrs = {a.name: a for a in conv.attribute}
        if "pads" in attrs:
            conv.attribute.remove(attrs["pads"])
        conv.attribute.append(helper.make_attribute("auto_pad", "SAME_UPPER"))
        src = prod.get(conv.input[0])
        if src is not None and src.op_type == "Pad":
            pads = _const_value(g, src.input[1])
            assert list(pads) == [0, 0, 0, 0, 0, 0, 1, 1], pads
            conv.input[0] = src.input[0]
            g.node.remove(src)
    _prune_dead(g)  # the Pad's pads/value constants
    used = {i for n in g.node for i in n.input}
    consts = []
    for init in list(g.initializer):
        if init.name in used:
            consts.append(helper.make_node("Constant", [], [init.name], name="const_" + init.name,
                                           value=init))
    del g.initializer[:]
    nodes = consts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    # classic exporter may list initializers as graph inputs when keep_initializers_as_inputs
    inits_as_inputs = [i for i in g.input if i.name in {c.output[0] for c in consts}]
    for i in inits_as_inputs:
        g.input.remove(i)
    return model


# ----------------------------------------------------------------------------- driver
def train(model, x, y, epochs, lr=3e-3, batch=32):
    g = torch.Generator().manual_seed(SEED)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=g)
        tot = 0.0
        for i in range(0, len(xt), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            tot += loss.item() * len(idx)
        sched.step()
    print(f"    final train loss {tot / len(xt):.4f}")
    return model.eval()


# name: (constructor, input channels, epochs, opset, do_constant_folding, post-edit)
FIXTURES = {
    "vgg": (VGG, 1, 8, 13, False, None),
    "mobilenet_v1": (MobileNetV1, 1, 12, 13, False, None),
    "mobilenet_v2": (MobileNetV2, 1, 12, 13, True, None),
    "mobilenet_v3": (MobileNetV3, 1, 12, 14, True, None),
    "resnet": (ResNet, 1, 8, 13, False, None),
    "inception": (Inception, 1, 8, 13, True, None),
    "misc_ops": (MiscOps, 3, 12, 13, True, conv_same_upper_to_pads),
    "constants": (SmallConv, 1, 8, 13, True, to_constants_and_same_upper),
}


def make(name):
    ctor, cin, epochs, opset, fold, post = FIXTURES[name]
    print(f"== {name}")
    torch.manual_seed(SEED)
    x_tr, y_tr, x_cal, x_te, y_te = load_data(cin)
    model = train(ctor(), x_tr, y_tr, epochs)
    if hasattr(model, "export_softmax"):
        model.export_softmax = True
    with torch.no_grad():
        ref = model(torch.from_numpy(x_te)).numpy()
    path = os.path.join(HERE, name + ".onnx")
    torch.onnx.export(
        model, (torch.from_numpy(x_te[:1]),), path,
        dynamo=False, opset_version=opset, do_constant_folding=fold,
        input_names=["input"], output_names=["output"],
        dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
    )
    m = fold_pad_inputs(onnx.load(path), x_te)
    if post is not None:
        m = post(m)
    m.producer_name = "tinycnn make_onnx_fixtures.py (" + m.producer_name + " " + m.producer_version + ")"
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)
    np.savez_compressed(os.path.join(HERE, name + "_data.npz"), x_calib=x_cal, x_test=x_te, y_test=y_te)

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    out = sess.run(None, {"input": x_te})[0]
    err = float(np.abs(out - ref).max())
    acc = float((out.argmax(1) == y_te).mean())
    acc_t = float((ref.argmax(1) == y_te).mean())
    ops = sorted({n.op_type for n in m.graph.node})
    size = os.path.getsize(path)
    print(f"    opset {opset} fold={fold} size {size} B, ops: {' '.join(ops)}")
    print(f"    float test accuracy: onnxruntime {acc:.4f} torch {acc_t:.4f}  max|ort-torch| {err:.2e}")
    assert err < 1e-4, (name, err)
    assert acc > 0.85, (name, acc)
    assert size < 300_000, (name, size)
    return acc


def main(argv):
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    names = argv or list(FIXTURES)
    res = {n: make(n) for n in names}
    print("\nsummary:")
    for n, a in res.items():
        print(f"  {n:14s} {a:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
