"""A small CNN (two conv-BN-ReLU-pool stages and a hidden layer) for quick experiments."""

from torch import nn

from .base import ZooClassifier


class SmallCNN(ZooClassifier):
    head_name = "fc"

    def __init__(self, num_classes=10, in_channels=3, width=32):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1, bias=False), nn.BatchNorm2d(2 * width), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(2 * width, 4 * width, 3, padding=1, bias=False), nn.BatchNorm2d(4 * width),
            nn.ReLU(inplace=True),
        )
        self.fc = nn.Linear(4 * width, num_classes)

    def feature_map(self, x):
        return self.features(x)
