"""A torch.onnx export with dynamic_axes (batch, height and width), as PaddleOCR-style and
most PyTorch exports come: symbolic input dims and the `x.view(x.size(0), -1)` Shape/Gather/
Concat/Reshape chain, plus a nearest 2x F.interpolate (Resize with constant scales).

How to run (NOT in the project .venv: needs torch; the generated files are committed):

    python3 -m venv /work/venvs/torch-wild
    /work/venvs/torch-wild/bin/pip install torch==2.13.0 numpy onnx
    /work/venvs/torch-wild/bin/python tests/data/wild/make_torch_dynamic.py

Writes torch_dynamic.onnx and torch_dynamic_data.npz: x_calib (48 x 3x16x48, NCHW),
x_test (16 of the same shape) with y_torch = torch's own outputs, x_test2 (8 x 3x12x32)
with y_torch2. Seeded (torch.manual_seed(0)); random weights and inputs.
"""
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = Path(__file__).parent


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(16, 16, 3, stride=2, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 6)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = F.relu(self.conv2(x))
        x = F.relu(self.conv3(x))
        x = self.pool(x)
        return self.fc(x.view(x.size(0), -1))


def main():
    torch.manual_seed(0)
    net = Net()
    with torch.no_grad():  # non-trivial batch-norm statistics
        net.bn1.running_mean.uniform_(-0.2, 0.2)
        net.bn1.running_var.uniform_(0.5, 1.5)
    net.eval()
    # inputs on a 1/16 grid: exact in float32 and small once compressed
    x = torch.round(torch.randn(64, 3, 16, 48) * 16) / 16
    x2 = torch.round(torch.randn(8, 3, 12, 32) * 16) / 16
    torch.onnx.export(net, x[:1], str(HERE / "torch_dynamic.onnx"), input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "N", 2: "H", 3: "W"}, "logits": {0: "N"}}, opset_version=13,
                      dynamo=False)
    with torch.no_grad():
        y, y2 = net(x[48:]).numpy(), net(x2).numpy()
    np.savez_compressed(HERE / "torch_dynamic_data.npz", x_calib=x[:48].numpy(), x_test=x[48:].numpy(),
                        y_torch=y, x_test2=x2.numpy(), y_torch2=y2)
    print(torch.__version__, (HERE / "torch_dynamic.onnx").stat().st_size)


if __name__ == "__main__":
    main()
