"""VGG with BatchNorm, layout of Fast-Datafree/CMI `vgg.py` (from RepDistiller):
block0..block4 (conv, BN, ReLU; the last ReLU applied in forward), pool0..pool3 max-pools,
global average pool, head `classifier`."""

import torch.nn.functional as F
from torch import nn

from .base import ZooClassifier

CONFIGS = {
    "vgg8": [[64], [128], [256], [512], [512]],
    "vgg11": [[64], [128], [256, 256], [512, 512], [512, 512]],
}


def _stage(widths, cin):
    layers = []
    for w in widths:
        layers += [nn.Conv2d(cin, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
        cin = w
    return nn.Sequential(*layers[:-1])


class VGG(ZooClassifier):
    head_name = "classifier"

    def __init__(self, name, num_classes=10, in_channels=3):
        super().__init__()
        cfg = CONFIGS[name]
        cins = [in_channels] + [stage[-1] for stage in cfg[:-1]]
        for i, (widths, cin) in enumerate(zip(cfg, cins)):
            setattr(self, f"block{i}", _stage(widths, cin))
        for i in range(4):
            setattr(self, f"pool{i}", nn.MaxPool2d(2, 2))
        self.classifier = nn.Linear(cfg[-1][-1], num_classes)

    def feature_map(self, x):
        h = x.shape[2]
        x = self.pool0(F.relu(self.block0(x)))
        x = self.pool1(F.relu(self.block1(x)))
        x = self.pool2(F.relu(self.block2(x)))
        x = F.relu(self.block3(x))
        if h == 64:  # as the original: a fourth max-pool only for 64x64 inputs
            x = self.pool3(x)
        return F.relu(self.block4(x))
