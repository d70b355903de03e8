"""The scalelab model families in PyTorch, layer for layer as src/models/models.cpp builds them."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def units(base, width):
    return max(1, round(base * width))


class MLP(nn.Module):
    def __init__(self, width, depth, inputs=784, classes=10):
        super().__init__()
        h = units(512, width)
        self.hidden = nn.ModuleList([nn.Linear(inputs if i == 0 else h, h) for i in range(depth)])
        self.classifier = nn.Linear(h, classes)

    def forward(self, x):
        x = x.flatten(1)
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return self.classifier(x)


class WideBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.shortcut = nn.Conv2d(cin, cout, 1, stride, 0, bias=False) if cin != cout or stride != 1 else None

    def forward(self, x):
        pre = torch.relu(self.bn1(x))
        residual = self.shortcut(pre) if self.shortcut is not None else x
        y = self.conv1(pre)
        y = self.conv2(torch.relu(self.bn2(y)))
        return y + residual


class WideResNet(nn.Module):
    def __init__(self, width, depth, channels=1, classes=10):
        super().__init__()
        c = [units(16, width), units(16, width), units(32, width), units(64, width)]
        n = (depth - 4) // 6
        self.stem = nn.Conv2d(channels, c[0], 3, 1, 1, bias=False)
        blocks, cin = [], c[0]
        for g in range(3):
            for b in range(n):
                blocks.append(WideBlock(cin, c[g + 1], 2 if b == 0 and g > 0 else 1))
                cin = c[g + 1]
        self.groups = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(cin)
        self.classifier = nn.Linear(cin, classes)

    def forward(self, x):
        x = torch.relu(self.bn(self.groups(self.stem(x))))
        return self.classifier(x.mean((2, 3)))


def build(family, width, depth):
    return MLP(width, depth) if family == "mlp" else WideResNet(width, depth)
