"""CMI's local view: per image, a random resized crop (area fraction in [min_area, 1],
aspect ratio in [3/4, 4/3], log-uniform, as torchvision's RandomResizedCrop) resized back to
the image's size, then a horizontal flip with probability 1/2. Differentiable in the image
(roi_align), so the contrastive loss reaches the generator through it."""

import math

import torch
from torchvision.ops import roi_align


def random_resized_crop_flip(x: torch.Tensor, min_area: float, generator: torch.Generator) -> torch.Tensor:
    n, _, h, w = x.shape
    area = min_area + (1 - min_area) * torch.rand(n, generator=generator)
    log_ratio = (torch.rand(n, generator=generator) * 2 - 1) * math.log(4 / 3)
    cw = (area * log_ratio.exp()).sqrt().mul(w).clamp(1, w)
    ch = (area / log_ratio.exp()).sqrt().mul(h).clamp(1, h)
    x0 = torch.rand(n, generator=generator) * (w - cw)
    y0 = torch.rand(n, generator=generator) * (h - ch)
    boxes = torch.stack([torch.arange(n, dtype=torch.float), x0, y0, x0 + cw, y0 + ch], 1).to(x)
    out = roi_align(x, boxes, output_size=(h, w), spatial_scale=1.0, sampling_ratio=2, aligned=True)
    flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
    return torch.where(flip.view(n, 1, 1, 1), out.flip(-1), out)
