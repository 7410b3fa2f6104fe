"""Generate the binarized-network (BNN) ONNX fixture ``bnn_digits.onnx``.

How to run (NOT part of CI; the outputs are committed):

    python3 -m venv /work/venvs/bnn
    /work/venvs/bnn/bin/pip install torch==2.13.0 onnx onnxruntime scikit-learn numpy h5py
    # versions used for the committed files: torch 2.13.0+cpu, onnx 1.23.2,
    # onnxruntime 1.32.0, scikit-learn 1.9.1, numpy 2.4.6
    cd /work/main && /work/venvs/bnn/bin/python tests/data/bnn/make_bnn_fixture.py

Outputs (next to this script):
    bnn_digits.onnx       opset 13, input "input" [N,1,16,16] float32 (NCHW), output "logits" [N,10]
    bnn_digits_data.npz   x_calib [200,1,16,16], x_test [497,1,16,16] float32, y_test [497] int64,
                          y_ref_test [497,10] float32 (onnxruntime float logits of x_test)

Model (XNOR-Net style BNN trained with a straight-through estimator, seed 0):
    Conv3x3(1->32,p1) -> BN (float first layer, BN kept as a separate BatchNormalization node)
    -> Sign -> BinConv3x3(32->32,p1) -> Mul(alpha) -> BN -> MaxPool2
    -> Sign -> BinConv3x3(32->48,p1) -> Mul(alpha) -> BN -> MaxPool2
    -> Sign -> BinConv1x1(48->32)    -> Mul(alpha) -> BN                 (Cin=48: not a multiple of 32)
    -> Flatten -> Sign -> BinGemm(512->64) -> Mul(alpha) -> BN
    -> Gemm(64->10) (float last layer)

Binarization as it appears in the ONNX graph (see PATTERNS.md for the exact node lists):
  * activations: ONNX ``Sign`` node right before each binary Conv/Gemm.
  * weights: float latent-weight initializer -> ``Sign`` -> used as Conv/Gemm weight
    (exported with do_constant_folding=False so the Sign is NOT folded).
  * alpha = mean(|W_latent|) per output channel is an initializer (shape [1,O,1,1] for conv,
    [O] for gemm) applied by a ``Mul`` on the Conv/Gemm OUTPUT (not folded into the weights).
  * Binary convs have no bias; the binary Gemm has transB=1 and an all-zero C initializer [O]
    (present only so the exporter emits Gemm rather than Transpose+MatMul).
  * Padding of binary convs is the ONNX Conv zero padding applied to the Sign output, i.e.
    padded positions contribute 0 (not +1/-1). Training used exactly the same semantics.
  * ONNX Sign(0) = 0. The script asserts that no latent weight is exactly 0 and counts exactly-zero
    activations entering each Sign on x_calib + x_test (printed; it is 0 for the committed model),
    so treating sign(0) as +1 or as 0 gives identical results on the fixture data.
"""
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 0
N_TRAIN = 1300
N_CALIB = 200
EPOCHS = 40


def load_data():
    d = load_digits()
    x = d.images.astype(np.float32) / 16.0  # [1797, 8, 8]
    x = np.stack([np.kron(im, np.ones((2, 2), np.float32)) for im in x])[:, None]  # [N,1,16,16]
    y = d.target.astype(np.int64)
    perm = np.random.RandomState(SEED).permutation(len(x))
    tr, te = perm[:N_TRAIN], perm[N_TRAIN:]
    return x[tr], y[tr], x[tr[:N_CALIB]], x[te], y[te]


class SignSTE(torch.autograd.Function):
    """sign forward, hardtanh-clipped identity gradient backward."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sign(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() <= 1).to(g.dtype)


class BinBase(nn.Module):
    export_mode = False  # class-wide switch: plain torch.sign (-> ONNX Sign) + constant alpha

    def binarize(self, x):
        if BinBase.export_mode:
            return torch.sign(x), torch.sign(self.weight), self.alpha_const
        alpha = self.weight.abs().mean(dim=tuple(range(1, self.weight.dim())))
        return SignSTE.apply(x), SignSTE.apply(self.weight), alpha

    def freeze_alpha(self):
        a = self.weight.detach().abs().mean(dim=tuple(range(1, self.weight.dim())))
        # pre-shaped so the exported Mul takes an initializer directly ([1,O,1,1] conv, [O] gemm)
        self.alpha_const = a.reshape(self.alpha_shape).clone()


class BinConv2d(BinBase):
    def __init__(self, cin, cout, k, padding=0):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(cout, cin, k, k).uniform_(-0.5, 0.5))
        self.padding = padding
        self.alpha_shape = (1, cout, 1, 1)
        self.register_buffer("alpha_const", torch.ones(self.alpha_shape))

    def forward(self, x):
        xb, wb, alpha = self.binarize(x)
        y = F.conv2d(xb, wb, None, 1, self.padding)  # zero padding of the sign output
        return y * (alpha if alpha.dim() == 4 else alpha.reshape(self.alpha_shape))


class BinLinear(BinBase):
    def __init__(self, cin, cout):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(cout, cin).uniform_(-0.5, 0.5))
        self.alpha_shape = (cout,)
        self.register_buffer("alpha_const", torch.ones(self.alpha_shape))
        # all-zero, never trained: only there so the exporter emits Gemm(transB=1) instead of
        # Transpose+MatMul (aten::linear without bias)
        self.register_buffer("zero_bias", torch.zeros(cout))

    def forward(self, x):
        xb, wb, alpha = self.binarize(x)
        return F.linear(xb, wb, self.zero_bias) * alpha


class BNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv2d(1, 32, 3, padding=1)
        self.bn0 = nn.BatchNorm2d(32)
        self.bconv1 = BinConv2d(32, 32, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(32)
        self.bconv2 = BinConv2d(32, 48, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(48)
        self.bconv3 = BinConv2d(48, 32, 1)
        self.bn3 = nn.BatchNorm2d(32)
        self.bfc = BinLinear(32 * 4 * 4, 64)
        self.bn4 = nn.BatchNorm1d(64)
        self.fc = nn.Linear(64, 10)
        self.taps = None  # list to collect Sign inputs when not None

    def _tap(self, x):
        if self.taps is not None:
            self.taps.append(x.detach())
        return x

    def forward(self, x):
        x = self.bn0(self.conv0(x))
        x = F.max_pool2d(self.bn1(self.bconv1(self._tap(x))), 2)
        x = F.max_pool2d(self.bn2(self.bconv2(self._tap(x))), 2)
        x = self.bn3(self.bconv3(self._tap(x)))
        x = torch.flatten(x, 1)
        x = self.bn4(self.bfc(self._tap(x)))
        return self.fc(x)


def main():
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(2)
    xtr, ytr, xcal, xte, yte = load_data()
    model = BNN()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS)
    Xtr, Ytr = torch.from_numpy(xtr), torch.from_numpy(ytr)
    g = torch.Generator().manual_seed(SEED)
    for ep in range(EPOCHS):
        model.train()
        perm = torch.randperm(len(Xtr), generator=g)
        for i in range(0, len(Xtr), 64):
            idx = perm[i:i + 64]
            loss = F.cross_entropy(model(Xtr[idx]), Ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        if ep % 10 == 9 or ep == EPOCHS - 1:
            model.eval()
            with torch.no_grad():
                acc = (model(torch.from_numpy(xte)).argmax(1).numpy() == yte).mean()
            print(f"epoch {ep + 1}: loss {loss.item():.3f} test acc {acc:.4f}")

    model.eval()
    bin_layers = [model.bconv1, model.bconv2, model.bconv3, model.bfc]
    for m in bin_layers:
        assert (m.weight.detach() != 0).all(), "latent weight exactly 0 -> Sign(0)=0 ambiguity"
        m.freeze_alpha()
    BinBase.export_mode = True

    xall = torch.from_numpy(np.concatenate([xcal, xte]))
    with torch.no_grad():
        model.taps = []
        ref = model(torch.from_numpy(xte)).numpy()
        model(xall)
        zeros = [int((t == 0).sum()) for t in model.taps[4:]]
        model.taps = None
    print("exactly-zero Sign inputs per binary layer (calib+test):", zeros)

    path = os.path.join(HERE, "bnn_digits.onnx")
    torch.onnx.export(
        model, (torch.from_numpy(xte[:2]),), path, opset_version=13,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        do_constant_folding=False, dynamo=False,
    )

    import onnx
    import onnxruntime as ort
    m = onnx.load(path)
    onnx.checker.check_model(m)
    print("ONNX ops:", [n.op_type for n in m.graph.node])
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    out = sess.run(None, {"input": xte})[0]
    err = np.abs(out - ref).max()
    print(f"max |ORT - torch| = {err:.2e}")
    assert err < 1e-4
    acc = (out.argmax(1) == yte).mean()
    print(f"ORT float test accuracy: {acc:.4f} ({len(yte)} images)")
    assert acc > 0.85
    np.savez_compressed(os.path.join(HERE, "bnn_digits_data.npz"), x_calib=xcal, x_test=xte,
                        y_test=yte, y_ref_test=out.astype(np.float32))
    for f in ("bnn_digits.onnx", "bnn_digits_data.npz"):
        print(f, os.path.getsize(os.path.join(HERE, f)), "bytes")


if __name__ == "__main__":
    main()
