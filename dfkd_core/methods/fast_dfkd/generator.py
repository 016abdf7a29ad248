"""Fast-DFKD's generator (the DCGAN-like one of Fast-Datafree/CMI): z -> linear -> a
(2 ngf, s/4, s/4) map -> two (upsample, conv, BN, LeakyReLU) blocks -> conv -> sigmoid,
so images are in [0, 1]. A side that is not a multiple of 4 is made at the next multiple
and resized. It is always used in train mode (BN on batch statistics), as there."""

import math

import torch
import torch.nn.functional as F
from torch import nn


class FastGenerator(nn.Module):
    def __init__(self, nz: int, ngf: int, size: int, channels: int):
        super().__init__()
        self.size, self.init_size = size, math.ceil(size / 4)
        self.l1 = nn.Linear(nz, 2 * ngf * self.init_size ** 2)
        self.conv_blocks = nn.Sequential(
            nn.BatchNorm2d(2 * ngf),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(2 * ngf, 2 * ngf, 3, padding=1, bias=False), nn.BatchNorm2d(2 * ngf), nn.LeakyReLU(0.2),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(2 * ngf, ngf, 3, padding=1, bias=False), nn.BatchNorm2d(ngf), nn.LeakyReLU(0.2),
            nn.Conv2d(ngf, channels, 3, padding=1),
            nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.conv_blocks(self.l1(z).view(len(z), -1, self.init_size, self.init_size))
        if x.shape[-1] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return x


def reset_l0(generator: FastGenerator, gen: torch.Generator):
    """Fast-Datafree's reset_l0: the first (linear) layer drawn afresh, N(0, 0.02), bias 0."""
    with torch.no_grad():
        w = generator.l1.weight
        w.copy_(torch.randn(w.shape, generator=gen) * 0.02)
        generator.l1.bias.zero_()


def reset_bn(generator: FastGenerator, gen: torch.Generator):
    """Fast-Datafree's reset_bn: every BN gain drawn N(1, 0.02), every bias 0."""
    with torch.no_grad():
        for m in generator.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1 + torch.randn(m.weight.shape, generator=gen) * 0.02)
                m.bias.zero_()


def reset_all(generator: FastGenerator, gen: torch.Generator):
    """CMI's reset_model before each batch: every linear and conv weight N(0, 0.02), biases
    0, BN as reset_bn."""
    reset_l0(generator, gen)
    reset_bn(generator, gen)
    with torch.no_grad():
        for m in generator.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * 0.02)
                if m.bias is not None:
                    m.bias.zero_()
