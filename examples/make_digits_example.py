#!/usr/bin/env python3
"""Generate the bundled tinycnn demo: a small LeNet-style CNN for 8x8 sklearn digits.

How to run (NOT part of CI; needs the side venv with PyTorch):

    python3 -m venv /work/venvs/torch
    /work/venvs/torch/bin/pip install torch==2.13.0 onnx onnxruntime scikit-learn numpy
    /work/venvs/torch/bin/python examples/make_digits_example.py

Versions used to produce the committed files: torch 2.13.0+cpu, onnx 1.23.2,
onnxruntime 1.32.0, scikit-learn 1.9.1, numpy 2.4.6.

Outputs (next to this script):
    digits_cnn.onnx    opset 13, classic TorchScript exporter (dynamo=False),
                       input "input" [batch,1,8,8] float32, output "logits" [batch,10].
                       Exported with do_constant_folding=False, so BatchNormalization
                       nodes are kept (not folded into the convs).
    digits_calib.npz   x: [200,1,8,8] float32 (calibration images, taken from train split)
    digits_test.npz    x: [N,1,8,8] float32, y: [N] int64 (held-out test split)

Data: sklearn.datasets.load_digits(), images scaled x/16.0 to [0,1], NCHW.
Deterministic split with seed 0: 20% test (~360 images), the rest is train;
the 200 calibration images are a seeded subset of train.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 0


def load_data():
    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None, :, :]  # [N,1,8,8]
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=SEED, stratify=y)
    rng = np.random.default_rng(SEED)
    calib_idx = rng.choice(len(x_tr), size=200, replace=False)
    x_cal = x_tr[np.sort(calib_idx)]
    return x_tr, y_tr, x_cal, x_te, y_te


class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 8x8 -> 4x4
            nn.Conv2d(32, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 4x4 -> 2x2
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(32 * 2 * 2, 64),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(64, 10),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def train(model, x, y, epochs=15, batch=32, lr=3e-3):
    g = torch.Generator().manual_seed(SEED)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = nn.CrossEntropyLoss()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=g)
        tot = 0.0
        for i in range(0, len(xt), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            tot += loss.item() * len(idx)
        sched.step()
        print(f"epoch {ep + 1:2d}/{epochs} loss {tot / len(xt):.4f}")
    model.eval()
    return model


def main():
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # determinism of the float reductions

    x_tr, y_tr, x_cal, x_te, y_te = load_data()
    print(f"train {len(x_tr)}  calib {len(x_cal)}  test {len(x_te)}")

    model = train(DigitsCNN(), x_tr, y_tr)
    with torch.no_grad():
        ref = model(torch.from_numpy(x_te)).numpy()
    acc_torch = float((ref.argmax(1) == y_te).mean())

    onnx_path = os.path.join(HERE, "digits_cnn.onnx")
    torch.onnx.export(
        model,
        (torch.from_numpy(x_te[:1]),),
        onnx_path,
        dynamo=False,
        opset_version=13,
        do_constant_folding=False,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )
    np.savez_compressed(os.path.join(HERE, "digits_calib.npz"), x=x_cal)
    np.savez_compressed(os.path.join(HERE, "digits_test.npz"), x=x_te, y=y_te)

    import onnx
    import onnxruntime as ort

    m = onnx.load(onnx_path)
    onnx.checker.check_model(m)
    print("ONNX ops:", sorted({n.op_type for n in m.graph.node}))
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    out = sess.run(["logits"], {"input": x_te})[0]
    err = float(np.abs(out - ref).max())
    acc = float((out.argmax(1) == y_te).mean())
    print(f"float test accuracy: torch {acc_torch:.4f}  onnxruntime {acc:.4f}  (max |ort-torch| {err:.2e})")
    assert err < 1e-4, err
    assert acc > 0.95, acc
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
