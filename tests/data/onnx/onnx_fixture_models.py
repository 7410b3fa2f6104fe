"""The small PyTorch CNNs behind the ONNX fixtures (imported by make_onnx_fixtures.py, which
says how to run it). Needs torch (side venv), not part of the project's runtime."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn(cin, cout, k=3, s=1, groups=1, act=nn.ReLU):
    layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


class VGG(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            conv_bn(1, 8), conv_bn(8, 16), nn.MaxPool2d(2),  # 8x8
            conv_bn(16, 16), nn.MaxPool2d(2),  # 4x4
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.3), nn.Linear(16 * 4 * 4, 32), nn.ReLU(), nn.Linear(32, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class MobileNetV1(nn.Module):
    def __init__(self):
        super().__init__()

        def dws(cin, cout, s):
            return nn.Sequential(conv_bn(cin, cin, 3, s, groups=cin, act=nn.ReLU6),
                                 conv_bn(cin, cout, 1, act=nn.ReLU6))

        self.features = nn.Sequential(
            conv_bn(1, 8, 3, 2, act=nn.ReLU6),  # 8x8
            dws(8, 16, 1),
            dws(16, 32, 2),  # 4x4
            dws(32, 32, 1),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, s, t):
        super().__init__()
        hid = cin * t
        layers = []
        if t != 1:
            layers.append(conv_bn(cin, hid, 1, act=nn.ReLU6))
        layers += [conv_bn(hid, hid, 3, s, groups=hid, act=nn.ReLU6), conv_bn(hid, cout, 1, act=None)]
        self.conv = nn.Sequential(*layers)
        self.use_res = s == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            conv_bn(1, 16, 3, 1, act=nn.ReLU6),  # 16x16
            InvertedResidual(16, 8, 1, 1),  # expansion 1
            InvertedResidual(8, 16, 2, 4),  # 8x8
            InvertedResidual(16, 16, 1, 4),  # residual
            InvertedResidual(16, 16, 1, 4),  # residual
            InvertedResidual(16, 24, 2, 4),  # 4x4
            InvertedResidual(24, 24, 1, 3),  # residual
            conv_bn(24, 64, 1, act=nn.ReLU6),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


class SqueezeExcite(nn.Module):
    def __init__(self, c, r):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, r, 1)
        self.relu = nn.ReLU()
        self.fc2 = nn.Conv2d(r, c, 1)
        self.gate = nn.Hardsigmoid()

    def forward(self, x):
        s = self.gate(self.fc2(self.relu(self.fc1(self.pool(x)))))
        return x * s


class V3Block(nn.Module):
    def __init__(self, cin, hid, cout, k, s, se, act):
        super().__init__()
        layers = []
        if hid != cin:
            layers.append(conv_bn(cin, hid, 1, act=act))
        layers.append(conv_bn(hid, hid, k, s, groups=hid, act=act))
        if se:
            layers.append(SqueezeExcite(hid, max(8, hid // 4)))
        layers.append(conv_bn(hid, cout, 1, act=None))
        self.block = nn.Sequential(*layers)
        self.use_res = s == 1 and cin == cout

    def forward(self, x):
        y = self.block(x)
        return x + y if self.use_res else y


class MobileNetV3(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            conv_bn(1, 16, 3, 2, act=nn.Hardswish),  # 8x8
            V3Block(16, 16, 16, 3, 1, True, nn.ReLU),  # dw 3x3 + SE + residual
            V3Block(16, 48, 24, 5, 2, True, nn.Hardswish),  # dw 5x5 s2 -> 4x4
            V3Block(24, 72, 24, 5, 1, True, nn.Hardswish),  # dw 5x5 + SE + residual
            conv_bn(24, 96, 1, act=nn.Hardswish),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(96, 64), nn.Hardswish(), nn.Dropout(0.2), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, s):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, s, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if s != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, s, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        idt = x if self.down is None else self.down(x)
        return F.relu(y + idt)


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn(1, 16, 3, 1)
        self.layer1 = BasicBlock(16, 16, 1)
        self.layer2 = BasicBlock(16, 32, 2)  # 8x8, 1x1 conv projection skip
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class InceptionBlock(nn.Module):
    def __init__(self, cin, c1, c3r, c3, c5r, c5, cp, double3x3=False):
        super().__init__()
        self.b1 = conv_bn(cin, c1, 1)
        self.b2 = nn.Sequential(conv_bn(cin, c3r, 1), conv_bn(c3r, c3, 3))
        if double3x3:
            self.b3 = nn.Sequential(conv_bn(cin, c5r, 1), conv_bn(c5r, c5, 3), conv_bn(c5, c5, 3))
        else:
            self.b3 = nn.Sequential(conv_bn(cin, c5r, 1), conv_bn(c5r, c5, 5))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), conv_bn(cin, cp, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


class Inception(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn(1, 16, 3)
        self.avg_incl = nn.AvgPool2d(3, 1, 1, count_include_pad=True)
        self.pool1 = nn.MaxPool2d(2)  # 8x8
        self.inc1 = InceptionBlock(16, 8, 8, 12, 4, 8, 8)  # 1x1 / 1x1-3x3 / 1x1-5x5 / pool-1x1 -> 36
        self.avg_excl = nn.AvgPool2d(3, 1, 1, count_include_pad=False)
        self.pool2 = nn.MaxPool2d(2)  # 4x4
        self.inc2 = InceptionBlock(36, 12, 12, 16, 8, 12, 8, double3x3=True)  # -> 48
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(48, 10)

    def forward(self, x):
        x = self.pool1(self.avg_incl(self.stem(x)))
        x = self.pool2(self.avg_excl(self.inc1(x)))
        x = self.inc2(x)
        return self.fc(torch.flatten(self.pool(x), 1))


class MiscOps(nn.Module):
    """Input [N,3,16,16]."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.1)
        self.conv2 = nn.Conv2d(8, 16, 3, 2, 0)  # after F.pad (0,1,0,1): 17x17 -> 8x8
        self.prelu = nn.PReLU(16)  # per-channel slopes
        self.dil = nn.Conv2d(16, 16, 3, 1, padding=2, dilation=2)
        self.grp = nn.Conv2d(16, 16, 3, 1, 1, groups=2)
        # even kernel 'same' padding: asymmetric (0 before, 1 after); the exported
        # SAME_UPPER is rewritten to explicit pads=[0,0,1,1] after export
        self.asym = nn.Conv2d(16, 24, 2, 1, padding="same")
        self.maxpool = nn.MaxPool2d(2, 2)  # 4x4
        self.conv3 = nn.Conv2d(24, 32, 3, 1, 1)
        self.avgpool = nn.AvgPool2d(2, 2)  # 2x2
        self.W = nn.Parameter(torch.randn(32, 32) * (1.0 / 32 ** 0.5))
        self.b = nn.Parameter(torch.zeros(32))
        self.fc = nn.Linear(32, 10)
        self.export_softmax = False

    def forward(self, x):
        x = self.lrelu(self.conv1(x))
        x = F.pad(x, (0, 1, 0, 1))  # explicit asymmetric zero pad (Pad node)
        x = self.prelu(self.conv2(x))
        y = torch.tanh(self.dil(x))
        z = torch.sigmoid(self.grp(x))
        x = x - y * z  # Sub, Mul
        x = F.relu(self.asym(x))
        x = self.maxpool(x)
        x = F.relu(self.conv3(x))
        x = self.avgpool(x)
        m = x.mean(dim=(2, 3))  # ReduceMean over H,W -> [N,32]
        m = m.unsqueeze(1)  # Unsqueeze -> [N,1,32]
        m = m.squeeze(1)  # Squeeze -> [N,32]
        m = m.reshape(-1, 32)  # Reshape
        h = F.relu(m @ self.W + self.b)  # MatMul + Add
        out = self.fc(h)
        if self.export_softmax:
            out = torch.softmax(out, dim=1)
        return out


class SmallConv(nn.Module):
    """Base of the `constants` fixture: conv1 3x3 s1 p1 and conv2 3x3 s2 with a
    (0,1,0,1) zero pad in front; both become auto_pad=SAME_UPPER after graph editing."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 2, 0)
        self.fc = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(F.pad(x, (0, 1, 0, 1))))  # 16x16 -> 8x8
        x = F.max_pool2d(x, 2)  # 4x4
        return self.fc(torch.flatten(x, 1))


# ----------------------------------------------------------------------------- graph edits
