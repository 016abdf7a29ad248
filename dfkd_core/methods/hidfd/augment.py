"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) for GANs trained on a few
images: the same random translation / cutout / flip is applied to real and generated
images before the discriminator (and the teacher), and the generator's gradient flows
through it. Random numbers come from a CPU torch.Generator, so runs are reproducible and
resumable on any device."""

import torch
import torch.nn.functional as F

from .config import POLICIES


def diff_augment(x: torch.Tensor, policy: tuple | list, generator: torch.Generator | None = None,
                 translation: float = 0.125, cutout: float = 0.5) -> torch.Tensor:
    unknown = set(policy) - set(POLICIES)
    if unknown:
        raise ValueError(f"unknown augmentation {sorted(unknown)}; expected {POLICIES}")
    n, _, h, w = x.shape
    if "flip" in policy:
        flip = (torch.rand(n, generator=generator) < 0.5).to(x.device).view(n, 1, 1, 1)
        x = torch.where(flip, x.flip(-1), x)
    if "translation" in policy:
        x = _translate(x, round(h * translation), round(w * translation), generator)
    if "cutout" in policy:
        x = _cutout(x, round(h * cutout), round(w * cutout), generator)
    return x


def _translate(x, ph, pw, generator):
    n, c, h, w = x.shape
    dy = torch.randint(-ph, ph + 1, (n, 1, 1), generator=generator).to(x.device)
    dx = torch.randint(-pw, pw + 1, (n, 1, 1), generator=generator).to(x.device)
    rows = (torch.arange(h, device=x.device).view(1, h, 1) + dy + ph).expand(n, h, w)
    cols = (torch.arange(w, device=x.device).view(1, 1, w) + dx + pw).expand(n, h, w)
    padded = F.pad(x, (pw, pw, ph, ph))  # zero fill, like the teacher's random-crop training
    flat = (rows * (w + 2 * pw) + cols).view(n, 1, h * w).expand(n, c, h * w)
    return padded.flatten(2).gather(2, flat).view(n, c, h, w)


def _cutout(x, sh, sw, generator):
    """Zero a sh x sw box per image, centred anywhere in the image (it may stick out)."""
    n, _, h, w = x.shape
    top = torch.randint(0, h, (n, 1, 1), generator=generator).to(x.device) - sh // 2
    left = torch.randint(0, w, (n, 1, 1), generator=generator).to(x.device) - sw // 2
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (ys >= top) & (ys < top + sh) & (xs >= left) & (xs < left + sw)
    return x * (~inside).unsqueeze(1).to(x.dtype)
