"""A small BigGAN-style class-conditional GAN for ~32x32 images.

Generator: z -> 4x4 -> three up-sampling residual blocks with conditional BatchNorm (gains
and biases predicted from a shared class embedding and z, as in BigGAN) -> image in [0, 1].
Discriminator: residual down-sampling blocks -> summed features h; optional *feature
integration* branch on the frozen teacher's penultimate features t (HiDFD), concatenated
with h; a hinge-loss head and an ADC-GAN auxiliary classifier over 2K classes (real class y
is label y, fake class y is label K + y). Spectral norm on every layer of both networks."""

import math
from dataclasses import asdict, dataclass
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


def sn_conv(cin, cout, k=3):
    return spectral_norm(nn.Conv2d(cin, cout, k, padding=k // 2))


def sn_linear(cin, cout, bias=True):
    return spectral_norm(nn.Linear(cin, cout, bias=bias))


@dataclass
class GeneratorSpec:
    num_classes: int
    channels: int = 1
    size: int = 32  # output side: 4x4 doubled until >= size, resized if it overshoots (28 -> 32 -> 28)
    z_dim: int = 64
    ch: int = 32  # width multiplier: widths 4ch, ..., 4ch, 2ch, ch from 4x4 up (32x32: 4ch, 4ch, 2ch, ch)
    embed_dim: int = 32


class ConditionalBN(nn.Module):
    """BatchNorm without its own affine; gain (1 + ...) and bias come from the condition vector."""

    def __init__(self, channels, cond_dim):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gain = sn_linear(cond_dim, channels, bias=False)
        self.bias = sn_linear(cond_dim, channels, bias=False)

    def forward(self, x, cond):
        return self.bn(x) * (1 + self.gain(cond)[:, :, None, None]) + self.bias(cond)[:, :, None, None]


class GBlock(nn.Module):
    def __init__(self, cin, cout, cond_dim):
        super().__init__()
        self.bn1, self.bn2 = ConditionalBN(cin, cond_dim), ConditionalBN(cout, cond_dim)
        self.conv1, self.conv2 = sn_conv(cin, cout), sn_conv(cout, cout)
        self.skip = sn_conv(cin, cout, 1)

    def forward(self, x, cond):
        h = F.interpolate(F.relu(self.bn1(x, cond)), scale_factor=2)
        h = self.conv2(F.relu(self.bn2(self.conv1(h), cond)))
        return h + self.skip(F.interpolate(x, scale_factor=2))


class Generator(nn.Module):
    def __init__(self, spec: GeneratorSpec):
        super().__init__()
        self.spec = spec
        ups = max(1, math.ceil(math.log2(spec.size / 4)))
        widths = [spec.ch * min(4, 2 ** (ups - i)) for i in range(ups + 1)]
        cond_dim = spec.embed_dim + spec.z_dim
        self.embed = nn.Embedding(spec.num_classes, spec.embed_dim)  # shared by all blocks
        self.linear = sn_linear(spec.z_dim, widths[0] * 16)
        self.blocks = nn.ModuleList(GBlock(a, b, cond_dim) for a, b in pairwise(widths))
        self.out_bn = nn.BatchNorm2d(spec.ch)
        self.out = sn_conv(spec.ch, spec.channels)

    def forward(self, z, y):
        cond = torch.cat([self.embed(y), z], 1)
        h = self.linear(z).view(len(z), -1, 4, 4)
        for block in self.blocks:
            h = block(h, cond)
        x = (torch.tanh(self.out(F.relu(self.out_bn(h)))) + 1) / 2
        if x.shape[-1] != self.spec.size:
            x = F.interpolate(x, size=(self.spec.size, self.spec.size), mode="bilinear", align_corners=False)
        return x

    def card(self) -> dict:
        return asdict(self.spec)


@dataclass
class DiscriminatorSpec:
    num_classes: int
    channels: int = 1
    ch: int = 32
    teacher_dim: int = 0  # > 0: feature-integration branch on teacher features of this size
    branch_dim: int = 64


class DBlock(nn.Module):
    def __init__(self, cin, cout, down=True, preact=True):
        super().__init__()
        self.conv1, self.conv2 = sn_conv(cin, cout), sn_conv(cout, cout)
        self.skip = sn_conv(cin, cout, 1) if cin != cout or down else None
        self.down, self.preact = down, preact

    def forward(self, x):
        h = F.relu(x) if self.preact else x
        h = self.conv2(F.relu(self.conv1(h)))
        if self.down:
            h = F.avg_pool2d(h, 2)
        return h + self.shortcut(x)

    def shortcut(self, x):
        if self.skip is None:
            return x
        if self.preact:  # BigGAN: pre-activation blocks convolve, then down-sample
            x = self.skip(x)
            return F.avg_pool2d(x, 2) if self.down else x
        return self.skip(F.avg_pool2d(x, 2) if self.down else x)


class Discriminator(nn.Module):
    def __init__(self, spec: DiscriminatorSpec):
        super().__init__()
        self.spec = spec
        c = spec.ch
        self.blocks = nn.Sequential(DBlock(spec.channels, c, preact=False), DBlock(c, 2 * c),
                                    DBlock(2 * c, 2 * c, down=False), DBlock(2 * c, 2 * c, down=False))
        width = 2 * c
        if spec.teacher_dim:
            self.branch = nn.Sequential(sn_linear(spec.teacher_dim, spec.branch_dim), nn.ReLU(),
                                        sn_linear(spec.branch_dim, spec.branch_dim), nn.ReLU())
            width += spec.branch_dim
        else:
            self.branch = None
        self.adv = sn_linear(width, 1)
        self.classifier = sn_linear(width, 2 * spec.num_classes)  # ADC-GAN: K real + K fake classes

    def forward(self, x, teacher_features=None):
        """(adversarial logit (B,), 2K-way class logits (B, 2K))."""
        h = F.relu(self.blocks(x)).sum((2, 3))
        if self.branch is not None:
            if teacher_features is None:
                raise ValueError("this discriminator integrates teacher features: pass teacher_features")
            h = torch.cat([h, self.branch(teacher_features)], 1)
        return self.adv(h).squeeze(1), self.classifier(h)


def ema_of(model: nn.Module, decay: float) -> AveragedModel:
    """torch's EMA (AveragedModel) of the generator, starting as a copy of it. After n updates
    the decay is min(decay, (1 + n) / (10 + n)), so the first steps are not averaged with the
    random start for long; buffers (BN statistics, spectral-norm vectors) are copied (ema_update)."""
    def warming_up(ema_params, params, n):
        get_ema_multi_avg_fn(min(decay, (1 + int(n)) / (10 + int(n))))(ema_params, params, n)

    ema = AveragedModel(model, multi_avg_fn=warming_up).requires_grad_(False)
    ema.update_parameters(model)  # the copy counts as one: the update after step s sees n = s
    return ema


@torch.no_grad()
def ema_update(ema: AveragedModel, model: nn.Module):
    ema.update_parameters(model)
    for e, b in zip(ema.module.buffers(), model.buffers()):
        e.copy_(b)


@torch.no_grad()
def standing_stats(generator: Generator, batches: int = 8, batch_size: int = 100, generator_rng=None):
    """BigGAN's standing statistics: re-estimate the generator's BatchNorm running statistics
    as the average over fresh class-balanced batches (used for the EMA generator), then eval()."""
    bns = [m for m in generator.modules() if isinstance(m, nn.BatchNorm2d)]
    device = next(generator.parameters()).device
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    generator.train()
    k = generator.spec.num_classes
    for _ in range(batches):
        y = (torch.arange(batch_size) % k).to(device)
        z = torch.randn(batch_size, generator.spec.z_dim, generator=generator_rng).to(device)
        generator(z, y)
    for m, mom in zip(bns, momenta):
        m.momentum = mom
    return generator.eval()
