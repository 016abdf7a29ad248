"""Levers that make teacher guidance change an image's content rather than paint textures.

A classifier's raw gradient is mostly high-frequency: followed, it paints textures the
teacher reads as the class while a person (or a pixel-space judge) sees noise. The levers
(GuidanceConfig; each 0 = off):

- copies / shift / copy_noise: the teacher's gradient averaged over randomly shifted and
  noised copies of the decoded image (Shen et al., NeurIPS 2024; TFG's "implicit
  dynamics"): a direction that works only for one exact pixel grid (an adversarial one)
  cancels; the class's shape adds up.
- blur: a Gaussian low-pass of the gradient in the latent (or pixel) grid, so guidance moves
  silhouettes and brightness but not fine patterns.
- recurrence (Universal Guidance, Bansal et al. 2023; FreeDoM): after a guided step
  z_t -> z_t', re-noise z_t' back to t and redo the step, so the prior pulls the change back
  towards images it would make.

All noise comes from per-sample generators derived from each sample's seed, so a sample is
the same whatever batch it is made in."""

import math

import numpy as np
import torch
import torch.nn.functional as F


def lever_generators(seeds) -> list[torch.Generator]:
    """One generator per sample for the levers' noise, apart from the trajectory's own noise."""
    return [torch.Generator().manual_seed(int(np.random.SeedSequence([int(s), 2]).generate_state(1)[0]))
            for s in seeds]


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (N, C, H, W) over H and W (reflect padding); sigma 0: x."""
    if sigma <= 0:
        return x
    radius = max(1, min(int(math.ceil(3 * sigma)), min(x.shape[-2:]) - 1))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32, device=x.device)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = (kernel / kernel.sum()).to(x.dtype)
    c = x.shape[1]
    out = F.pad(x, (radius, radius, 0, 0), mode="reflect")
    out = F.conv2d(out, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    out = F.pad(out, (0, 0, radius, radius), mode="reflect")
    return F.conv2d(out, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def noise_like(x: torch.Tensor, generators) -> torch.Tensor:
    """Standard normal noise shaped like x, drawn sample by sample from `generators`."""
    return torch.stack([torch.randn(x.shape[1:], generator=g) for g in generators]).to(x.device, x.dtype)


def augmented_copies(images: torch.Tensor, copies: int, shift: int, noise: float, generators) -> torch.Tensor:
    """`copies` copies of each image, copy-major (copy c of image i is row c * N + i), each
    rolled by a random whole number of pixels in [-shift, shift] on both axes and given
    Gaussian noise of std `noise`; differentiable, so the gradient reaches the images.
    copies < 1: the images themselves."""
    if copies < 1:
        return images
    out = []
    for _ in range(copies):
        for i, g in enumerate(generators):
            dy, dx = (torch.randint(-shift, shift + 1, (2,), generator=g).tolist() if shift else (0, 0))
            copy = torch.roll(images[i], (dy, dx), (-2, -1))
            if noise > 0:
                copy = copy + noise * torch.randn(images.shape[1:], generator=g).to(images.device, images.dtype)
            out.append(copy)
    return torch.stack(out)


def renoise(z_prev: torch.Tensor, alpha_t: float, alpha_prev: float, generators) -> torch.Tensor:
    """z at the earlier (noisier) timestep t from z at t_prev, by the forward process:
    z_t = sqrt(a_t / a_prev) z_prev + sqrt(1 - a_t / a_prev) n."""
    ratio = alpha_t / alpha_prev
    return math.sqrt(ratio) * z_prev + math.sqrt(max(0.0, 1 - ratio)) * noise_like(z_prev, generators)
