"""The scalelab model families in PyTorch, layer for layer as src/models/models.cpp builds them."""
import math

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


class TransformerBlock(nn.Module):
    """Pre-norm block as models.cpp's TransformerBlockImpl: causal attention, then a 4d GELU MLP."""

    def __init__(self, d):
        super().__init__()
        self.heads = d // 16
        self.ln1, self.qkv, self.proj = nn.LayerNorm(d), nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.ln2, self.fc1, self.fc2 = nn.LayerNorm(d), nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x, future):
        n, t, d = x.shape
        qkv = self.qkv(self.ln1(x)).view(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(d // self.heads)
        scores = scores.masked_fill(future, float("-inf"))
        x = x + self.proj(torch.matmul(torch.softmax(scores, -1), v).transpose(1, 2).reshape(n, t, d))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class Transformer(nn.Module):
    """models.cpp's TransformerImpl: learned positions, tied output layer, d_model 16 * round(4 width)."""

    def __init__(self, width, depth, context=64, vocab=256):
        super().__init__()
        d = 16 * max(1, round(4 * width))
        self.token_embedding, self.position_embedding = nn.Embedding(vocab, d), nn.Embedding(context, d)
        self.blocks = nn.ModuleList([TransformerBlock(d) for _ in range(depth)])
        self.ln_f = nn.LayerNorm(d)

    def forward(self, x):
        t = x.shape[1]
        h = self.token_embedding(x.long()) + self.position_embedding(torch.arange(t))
        future = torch.ones(t, t, dtype=torch.bool).triu(1)
        for block in self.blocks:
            h = block(h, future)
        return torch.matmul(self.ln_f(h), self.token_embedding.weight.t())


def build(family, width, depth):
    if family == "transformer":
        return Transformer(width, depth)
    return MLP(width, depth) if family == "mlp" else WideResNet(width, depth)
