"""Generate the Larq-layout Keras HDF5 fixture ``larq_digits.h5``.

IMPORTANT: ``larq_digits.h5`` is written by THIS script with h5py in the layout that Larq 0.14.0 on
tf.keras 2.15 (Keras 2 legacy HDF5 format) writes; it is NOT written by Larq/TensorFlow. The JSON
config was copied key-for-key from a file that Larq 0.14.0 + TF 2.15.1 actually saved (model.save
to .h5), and ``--verify`` loads our file with real Larq and checks the outputs.

How to run (NOT part of CI; the outputs are committed):

    # generator (same venv as make_bnn_fixture.py)
    python3 -m venv /work/venvs/bnn
    /work/venvs/bnn/bin/pip install torch==2.13.0 onnx onnxruntime scikit-learn numpy h5py
    cd /work/main && /work/venvs/bnn/bin/python tests/data/bnn/make_larq_fixture.py

    # optional check with real Larq (needs TensorFlow 2.15 + larq 0.14.0, e.g.
    #   python3 -m venv /work/venvs/larq && /work/venvs/larq/bin/pip install tensorflow-cpu==2.15.1 larq==0.14.0
    # ) -- run automatically at the end if /work/venvs/larq/bin/python exists:
    /work/venvs/larq/bin/python tests/data/bnn/make_larq_fixture.py --verify

Outputs (next to this script):
    larq_digits.h5        Sequential, input [N,16,16,1] NHWC float32 (digits x/16, 2x upsampled):
        quant_conv2d      QuantConv2D 3x3, 1->40, padding valid, use_bias False,
                          input_quantizer None (float input x binary weights),
                          kernel_quantizer SteSign, kernel_constraint weight_clip      -> 14x14x40
        batch_normalization      BN, scale=False (no gamma stored!), eps 1e-3
        quant_conv2d_1    QuantConv2D 3x3, 40->32, padding same, pad_values 1.0, use_bias False,
                          input_quantizer SteSign, kernel_quantizer SteSign           -> 14x14x32
                          (Cin=40: not a multiple of 32 -> exercises padding of packed words)
        batch_normalization_1    BN (gamma, beta, moving_mean, moving_variance), eps 1e-3
        max_pooling2d     2x2                                                         -> 7x7x32
        flatten           NHWC order (h, w, c)                                        -> 1568
        quant_dense       QuantDense 1568->10, use_bias False, input/kernel quantizer SteSign
        batch_normalization_2    BN over 10 logits, eps 1e-3
        activation        softmax
    larq_digits_data.npz  x_test [497,16,16,1] float32 NHWC, y_test [497] int64,
                          y_ref [497,10] float32 softmax output of the NumPy reference forward,
                          y_ref_logits [497,10] float32 (input of the softmax)

Semantics of the reference forward (= Larq inference semantics):
    * ste_sign(x) = +1 if x >= 0 else -1   (sign(0) = +1; Larq: tf.sign(tf.sign(x) + 0.1))
    * kernels are stored as LATENT float weights in [-1, 1] (weight_clip); the layer uses
      ste_sign(kernel), i.e. +-1, no scaling factor.
    * pad_values=1.0 with padding "same": the (binarized) input is padded with +1.0.
    * Split: same as make_bnn_fixture.py (RandomState(0) permutation, first 1300 train, rest test).
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
H5 = os.path.join(HERE, "larq_digits.h5")
NPZ = os.path.join(HERE, "larq_digits_data.npz")
SEED = 0
N_TRAIN = 1300
EPOCHS = 30
EPS = 1e-3


def load_data():
    from sklearn.datasets import load_digits
    d = load_digits()
    x = d.images.astype(np.float32) / 16.0
    x = np.stack([np.kron(im, np.ones((2, 2), np.float32)) for im in x])[..., None]  # NHWC
    y = d.target.astype(np.int64)
    perm = np.random.RandomState(SEED).permutation(len(x))
    tr, te = perm[:N_TRAIN], perm[N_TRAIN:]
    return x[tr], y[tr], x[te], y[te]


# ----------------------------------------------------------------------------- Keras config
def _init(cls, cfg=None):
    return {"module": "keras.initializers", "class_name": cls, "config": cfg or {},
            "registered_name": None}


def _ste_sign(name, build_shape):
    return {"module": "larq.quantizers", "class_name": "SteSign",
            "config": {"name": name, "trainable": True, "dtype": "float32", "clip_value": 1.0},
            "registered_name": "SteSign", "build_config": {"input_shape": build_shape}}


WEIGHT_CLIP = {"module": "larq.constraints", "class_name": "weight_clip",
               "config": {"clip_value": 1}, "registered_name": "weight_clip"}


def _common(name):
    return {"name": name, "trainable": True, "dtype": "float32"}


def _quant_conv(name, filters, padding, pad_values, in_q, k_q, batch_input_shape=None):
    c = _common(name)
    if batch_input_shape is not None:
        c["batch_input_shape"] = batch_input_shape
    c.update({
        "filters": filters, "kernel_size": [3, 3], "strides": [1, 1], "padding": padding,
        "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1,
        "activation": "linear", "use_bias": False,
        "kernel_initializer": _init("GlorotUniform", {"seed": None}),
        "bias_initializer": _init("Zeros"),
        "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
        "kernel_constraint": WEIGHT_CLIP, "bias_constraint": None,
        "pad_values": pad_values, "input_quantizer": in_q, "kernel_quantizer": k_q,
    })
    return {"class_name": "QuantConv2D", "config": c}


def _bn(name, axis, scale=True, momentum=0.99):
    c = _common(name)
    c.update({
        "axis": [axis], "momentum": momentum, "epsilon": EPS, "center": True, "scale": scale,
        "beta_initializer": _init("Zeros"), "gamma_initializer": _init("Ones"),
        "moving_mean_initializer": _init("Zeros"), "moving_variance_initializer": _init("Ones"),
        "beta_regularizer": None, "gamma_regularizer": None,
        "beta_constraint": None, "gamma_constraint": None,
    })
    return {"class_name": "BatchNormalization", "config": c}


def model_config():
    layers = [
        {"class_name": "InputLayer", "config": {
            "batch_input_shape": [None, 16, 16, 1], "dtype": "float32", "sparse": False,
            "ragged": False, "name": "quant_conv2d_input"}},
        _quant_conv("quant_conv2d", 40, "valid", 0.0, None,
                    _ste_sign("ste_sign", [3, 3, 1, 40]), batch_input_shape=[None, 16, 16, 1]),
        _bn("batch_normalization", 3, scale=False, momentum=0.999),
        _quant_conv("quant_conv2d_1", 32, "same", 1.0,
                    _ste_sign("ste_sign_2", [None, 14, 14, 40]),
                    _ste_sign("ste_sign_1", [3, 3, 40, 32])),
        _bn("batch_normalization_1", 3),
        {"class_name": "MaxPooling2D", "config": {**_common("max_pooling2d"),
            "pool_size": [2, 2], "padding": "valid", "strides": [2, 2],
            "data_format": "channels_last"}},
        {"class_name": "Flatten", "config": {**_common("flatten"), "data_format": "channels_last"}},
        {"class_name": "QuantDense", "config": {**_common("quant_dense"),
            "units": 10, "activation": "linear", "use_bias": False,
            "kernel_initializer": _init("GlorotUniform", {"seed": None}),
            "bias_initializer": _init("Zeros"),
            "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
            "kernel_constraint": WEIGHT_CLIP, "bias_constraint": None,
            "input_quantizer": _ste_sign("ste_sign_4", [None, 1568]),
            "kernel_quantizer": _ste_sign("ste_sign_3", [1568, 10])}},
        _bn("batch_normalization_2", 1),
        {"class_name": "Activation", "config": {**_common("activation"), "activation": "softmax"}},
    ]
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}


# ----------------------------------------------------------------------------- HDF5 writer
def write_h5(path, weights):
    """weights: list of (layer_name, [(weight_name, array), ...]) in layer order."""
    import h5py
    ascii_t = h5py.string_dtype("ascii")
    utf8_t = h5py.string_dtype("utf-8")
    cfg = json.dumps(model_config()).encode("ascii")
    with h5py.File(path, "w") as f:
        f.attrs.create("backend", "tensorflow", dtype=utf8_t)
        f.attrs.create("keras_version", "2.15.0", dtype=utf8_t)
        f.attrs.create("model_config", cfg, dtype=ascii_t)
        g = f.create_group("model_weights")
        g.attrs.create("backend", "tensorflow", dtype=utf8_t)
        g.attrs.create("keras_version", "2.15.0", dtype=utf8_t)
        names = [n for n, _ in weights]
        g.attrs.create("layer_names", [n.encode() for n in names], dtype=ascii_t)
        for lname, ws in weights + [("top_level_model_weights", [])]:
            lg = g.create_group(lname)
            if ws:
                wn = [f"{lname}/{w}:0".encode() for w, _ in ws]
                lg.attrs.create("weight_names", wn, dtype=ascii_t)
                sub = lg.create_group(lname)
                for w, arr in ws:
                    sub.create_dataset(f"{w}:0", data=np.asarray(arr, np.float32))
            else:
                lg.attrs["weight_names"] = np.zeros((0,), np.float64)  # what Keras 2 writes


# ----------------------------------------------------------------------------- NumPy reference
def ste_sign(x):
    return np.where(x >= 0, 1.0, -1.0).astype(np.float32)


def conv2d_nhwc(x, k):
    """valid conv, x [N,H,W,C], k [kh,kw,C,O] -> [N,H-kh+1,W-kw+1,O]."""
    kh, kw, c, o = k.shape
    n, h, w, _ = x.shape
    oh, ow = h - kh + 1, w - kw + 1
    cols = np.empty((n, oh, ow, kh, kw, c), np.float32)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, :, i, j, :] = x[:, i:i + oh, j:j + ow, :]
    return (cols.reshape(n * oh * ow, -1) @ k.reshape(-1, o)).reshape(n, oh, ow, o)


def bn(x, p):
    g = p.get("gamma", 1.0)
    return (x - p["moving_mean"]) / np.sqrt(p["moving_variance"] + EPS) * g + p["beta"]


def reference_forward(x, W):
    h = conv2d_nhwc(x, ste_sign(W["quant_conv2d"]["kernel"]))
    h = bn(h, W["batch_normalization"])
    h = np.pad(ste_sign(h), ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=1.0)
    h = conv2d_nhwc(h, ste_sign(W["quant_conv2d_1"]["kernel"]))
    h = bn(h, W["batch_normalization_1"])
    n, hh, ww, c = h.shape
    h = h.reshape(n, hh // 2, 2, ww // 2, 2, c).max(axis=(2, 4))
    h = h.reshape(n, -1)
    h = ste_sign(h) @ ste_sign(W["quant_dense"]["kernel"])
    logits = bn(h, W["batch_normalization_2"]).astype(np.float32)
    e = np.exp(logits - logits.max(1, keepdims=True))
    return (e / e.sum(1, keepdims=True)).astype(np.float32), logits


# ----------------------------------------------------------------------------- training (torch)
def train():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class SteSign(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.where(x >= 0, 1.0, -1.0)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * (x.abs() <= 1.0).to(g.dtype)

    sgn = SteSign.apply

    class Net(nn.Module):  # NHWC in, NCHW inside
        def __init__(self):
            super().__init__()
            self.k1 = nn.Parameter(torch.empty(40, 1, 3, 3).uniform_(-1, 1))
            self.bn0 = nn.BatchNorm2d(40, eps=EPS, affine=True)
            self.k2 = nn.Parameter(torch.empty(32, 40, 3, 3).uniform_(-1, 1))
            self.bn1 = nn.BatchNorm2d(32, eps=EPS)
            self.kd = nn.Parameter(torch.empty(10, 1568).uniform_(-1, 1))
            self.bn2 = nn.BatchNorm1d(10, eps=EPS)
            with torch.no_grad():
                self.bn0.weight.fill_(1.0)
            self.bn0.weight.requires_grad_(False)  # scale=False

        def forward(self, x):
            x = x.permute(0, 3, 1, 2)
            h = self.bn0(F.conv2d(x, sgn(self.k1)))
            h = F.pad(sgn(h), (1, 1, 1, 1), value=1.0)
            h = F.max_pool2d(self.bn1(F.conv2d(h, sgn(self.k2))), 2)
            h = h.permute(0, 2, 3, 1).flatten(1)  # Keras NHWC flatten order
            return self.bn2(F.linear(sgn(h), sgn(self.kd)))

    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    xtr, ytr, xte, yte = load_data()
    net = Net()
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS)
    X, Y = torch.from_numpy(xtr), torch.from_numpy(ytr)
    g = torch.Generator().manual_seed(SEED)
    for ep in range(EPOCHS):
        net.train()
        perm = torch.randperm(len(X), generator=g)
        for i in range(0, len(X), 64):
            idx = perm[i:i + 64]
            loss = F.cross_entropy(net(X[idx]), Y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():  # weight_clip
                for k in (net.k1, net.k2, net.kd):
                    k.clamp_(-1.0, 1.0)
        sched.step()
        if ep % 10 == 9:
            net.eval()
            with torch.no_grad():
                acc = (net(torch.from_numpy(xte)).argmax(1).numpy() == yte).mean()
            print(f"epoch {ep + 1}: loss {loss.item():.3f} torch test acc {acc:.4f}")
    net.eval()
    with torch.no_grad():
        torch_logits = net(torch.from_numpy(xte)).numpy()

    def bnp(m, with_gamma=True):
        d = {"beta": m.bias, "moving_mean": m.running_mean, "moving_variance": m.running_var}
        if with_gamma:
            d = {"gamma": m.weight, **d}
        return {k: v.detach().numpy().astype(np.float32) for k, v in d.items()}

    W = {
        "quant_conv2d": {"kernel": net.k1.detach().permute(2, 3, 1, 0).numpy()},
        "batch_normalization": bnp(net.bn0, with_gamma=False),
        "quant_conv2d_1": {"kernel": net.k2.detach().permute(2, 3, 1, 0).numpy()},
        "batch_normalization_1": bnp(net.bn1),
        "quant_dense": {"kernel": net.kd.detach().T.numpy()},
        "batch_normalization_2": bnp(net.bn2),
    }
    W = {ln: {k: np.ascontiguousarray(v, np.float32) for k, v in d.items()} for ln, d in W.items()}
    return W, xte, yte, torch_logits


def main():
    W, xte, yte, torch_logits = train()
    y_ref, logits = reference_forward(xte, W)
    d = np.abs(logits - torch_logits).max()
    print(f"max |numpy ref logits - torch logits| = {d:.2e}")
    assert d < 1e-3
    acc = (y_ref.argmax(1) == yte).mean()
    print(f"NumPy reference test accuracy: {acc:.4f} ({len(yte)} images)")
    assert acc > 0.85
    for ln in ("quant_conv2d", "quant_conv2d_1", "quant_dense"):
        print(f"{ln}: latent weights exactly 0: {int((W[ln]['kernel'] == 0).sum())}")

    order = ["quant_conv2d", "batch_normalization", "quant_conv2d_1", "batch_normalization_1",
             "max_pooling2d", "flatten", "quant_dense", "batch_normalization_2", "activation"]
    bn_order = ["gamma", "beta", "moving_mean", "moving_variance"]  # Keras 2 weight order
    weights = []
    for ln in order:
        p = W.get(ln, {})
        if ln.startswith("batch_normalization"):
            ws = [(k, p[k]) for k in bn_order if k in p]
        else:
            ws = list(p.items())
        weights.append((ln, ws))
    write_h5(H5, weights)
    np.savez_compressed(NPZ, x_test=xte, y_test=yte, y_ref=y_ref, y_ref_logits=logits)
    for f in (H5, NPZ):
        print(os.path.basename(f), os.path.getsize(f), "bytes")

    larq_py = "/work/venvs/larq/bin/python"
    if os.path.exists(larq_py):
        import subprocess
        subprocess.run([larq_py, os.path.abspath(__file__), "--verify"], check=True)


def verify():
    """Load larq_digits.h5 with real Larq + tf.keras and compare with y_ref."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import larq  # noqa: F401  (registers QuantConv2D, SteSign, weight_clip, ...)
    import tensorflow as tf
    m = tf.keras.models.load_model(H5)
    d = np.load(NPZ)
    out = m.predict(d["x_test"], verbose=0)
    err = np.abs(out - d["y_ref"]).max()
    acc = (out.argmax(1) == d["y_test"]).mean()
    print(f"[verify] larq {larq.__version__ if hasattr(larq, '__version__') else '?'} / "
          f"tf {tf.__version__}: max |larq - y_ref| = {err:.2e}, larq test acc {acc:.4f}")
    assert err < 1e-4
    assert (out.argmax(1) == d["y_ref"].argmax(1)).all()


if __name__ == "__main__":
    verify() if "--verify" in sys.argv else main()
