#!/usr/bin/env python3
"""Generate the bundled tinycnn demo: a small MobileNet-style CNN for sklearn digits (16x16).

How to run (NOT part of CI; needs the side venv with PyTorch):

    python3 -m venv /work/venvs/torch
    /work/venvs/torch/bin/pip install torch==2.13.0 onnx onnxruntime scikit-learn numpy
    /work/venvs/torch/bin/python examples/make_digits_example.py

Versions used to produce the committed files: torch 2.13.0+cpu, onnx 1.23.2,
onnxruntime 1.32.0, scikit-learn 1.9.1, numpy 2.4.6.

Model (MobileNet-style, all activations ReLU6, every conv followed by BatchNorm):
    stem      Conv3x3 s1 1->16 + BN + ReLU6                         16x16
    ds1       depthwise-separable: DW3x3 s2 + BN + ReLU6,
              PW1x1 16->24 + BN + ReLU6                             8x8
    ir1       inverted residual: PW 24->96 + BN + ReLU6, DW3x3 s1 + BN + ReLU6,
              PW 96->24 + BN (linear), then residual Add            8x8
    ds2       depthwise-separable: DW3x3 s2 + BN + ReLU6,
              PW1x1 24->32 + BN + ReLU6                             4x4
    head      GlobalAveragePool, Linear 32->64 + ReLU6, Dropout(0.2), Linear 64->10

Outputs (next to this script):
    digits_cnn.onnx    opset 13, classic TorchScript exporter (dynamo=False),
                       input "input" [batch,1,16,16] float32, output "logits" [batch,10].
                       Exported with do_constant_folding=False, so BatchNormalization
                       nodes are kept (not folded into the convs).
    digits_calib.npz   x: [200,1,16,16] float32 (calibration images, taken from train split)
    digits_test.npz    x: [N,1,16,16] float32, y: [N] int64 (held-out test split)

Data: sklearn.datasets.load_digits(), images scaled x/16.0 to [0,1], upsampled 8x8 -> 16x16
by pixel replication (np.kron with ones((2,2))), NCHW.
Deterministic split with seed 0: 20% test (360 images), the rest is train;
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
    img = d.images.astype(np.float32) / 16.0                               # [N,8,8]
    img = np.kron(img, np.ones((1, 2, 2), dtype=np.float32))               # [N,16,16]
    x = np.ascontiguousarray(img[:, None, :, :], dtype=np.float32)         # [N,1,16,16]
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=SEED, stratify=y)
    rng = np.random.default_rng(SEED)
    calib_idx = rng.choice(len(x_tr), size=200, replace=False)
    x_cal = x_tr[np.sort(calib_idx)]
    return x_tr, y_tr, x_cal, x_te, y_te


def conv_bn(cin, cout, k, stride=1, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU6())
    return layers


class DepthwiseSeparable(nn.Sequential):
    """DW3x3 + BN + ReLU6, then PW1x1 + BN + ReLU6 (MobileNet v1 block)."""

    def __init__(self, cin, cout, stride):
        super().__init__(*conv_bn(cin, cin, 3, stride, groups=cin), *conv_bn(cin, cout, 1))


class InvertedResidual(nn.Module):
    """PW expand + BN + ReLU6, DW3x3 + BN + ReLU6, PW linear project + BN, plus the skip (MobileNet v2)."""

    def __init__(self, c, expand=4):
        super().__init__()
        h = c * expand
        self.conv = nn.Sequential(*conv_bn(c, h, 1), *conv_bn(h, h, 3, groups=h), *conv_bn(h, c, 1, act=False))

    def forward(self, x):
        return x + self.conv(x)


class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            *conv_bn(1, 16, 3),                 # features.0-2: stem, 16x16
            DepthwiseSeparable(16, 24, 2),      # features.3: -> 8x8
            InvertedResidual(24, 4),            # features.4: residual Add, 8x8
            DepthwiseSeparable(24, 32, 2),      # features.5: -> 4x4
        )
        self.pool = nn.AdaptiveAvgPool2d(1)     # exported as GlobalAveragePool
        self.classifier = nn.Sequential(        # MobileNetV3-style head: hidden FC, then logits
            nn.Flatten(),
            nn.Linear(32, 64),
            nn.ReLU6(),
            nn.Dropout(0.2),
            nn.Linear(64, 10),
        )

    def forward(self, x):
        return self.classifier(self.pool(self.features(x)))


def train(model, x, y, epochs=20, batch=32, lr=3e-3):
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
    ops = sorted({n.op_type for n in m.graph.node})
    print("ONNX ops:", ops)
    assert {"Add", "BatchNormalization", "GlobalAveragePool"} <= set(ops), ops
    assert any(n.op_type == "Conv" and any(a.name == "group" and a.i > 1 for a in n.attribute)
               for n in m.graph.node), "no depthwise conv in the export"
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    out = sess.run(["logits"], {"input": x_te})[0]
    err = float(np.abs(out - ref).max())
    acc = float((out.argmax(1) == y_te).mean())
    print(f"float test accuracy: torch {acc_torch:.4f}  onnxruntime {acc:.4f}  (max |ort-torch| {err:.2e})")
    assert err < 1e-4, err
    assert acc >= 0.97, acc
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
