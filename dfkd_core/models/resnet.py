"""CIFAR-style ResNets.

- resnet18/34: 64-channel stem, four stages, head `linear` (layout of Fast-Datafree/CMI
  `resnet.py`, itself from DAFL).
- resnet8/20: 16-channel stem, three stages, head `fc`, shortcut `downsample` (layout of
  Fast-Datafree `resnet_tiny.py`, itself from RepDistiller).
"""

import torch.nn.functional as F
from torch import nn

from .base import ZooClassifier


def _conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


class _Block(nn.Module):
    """Basic residual block of resnet18/34 (shortcut module named `shortcut`)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1, self.bn1 = _conv3x3(cin, cout, stride), nn.BatchNorm2d(cout)
        self.conv2, self.bn2 = _conv3x3(cout, cout), nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet(ZooClassifier):
    head_name = "linear"

    def __init__(self, blocks_per_stage, num_classes=10, in_channels=3):
        super().__init__()
        self.conv1 = _conv3x3(in_channels, 64)
        self.bn1 = nn.BatchNorm2d(64)
        cin, stages = 64, []
        for i, (width, n) in enumerate(zip((64, 128, 256, 512), blocks_per_stage)):
            strides = [1 if i == 0 else 2] + [1] * (n - 1)
            stage = []
            for s in strides:
                stage.append(_Block(cin, width, s))
                cin = width
            stages.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.linear = nn.Linear(512, num_classes)

    def feature_map(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return self.layer4(self.layer3(self.layer2(self.layer1(out))))


class _TinyBlock(nn.Module):
    """Basic residual block of resnet8/20 (shortcut module named `downsample`, or none)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1, self.bn1 = _conv3x3(cin, cout, stride), nn.BatchNorm2d(cout)
        self.conv2, self.bn2 = _conv3x3(cout, cout), nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        residual = x if self.downsample is None else self.downsample(x)
        return self.relu(out + residual)


class TinyResNet(ZooClassifier):
    head_name = "fc"

    def __init__(self, depth, num_classes=10, in_channels=3):
        super().__init__()
        assert (depth - 2) % 6 == 0, "tiny ResNet depth must be 6n+2"
        n = (depth - 2) // 6
        self.conv1 = _conv3x3(in_channels, 16)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        cin, stages = 16, []
        for width, stride in ((16, 1), (32, 2), (64, 2)):
            stage = []
            for s in [stride] + [1] * (n - 1):
                stage.append(_TinyBlock(cin, width, s))
                cin = width
            stages.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3 = stages
        self.fc = nn.Linear(64, num_classes)

    def feature_map(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        return self.layer3(self.layer2(self.layer1(out)))
