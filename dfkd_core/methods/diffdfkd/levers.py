"""Levers that make teacher guidance change an image's content rather than paint textures.

A classifier's raw gradient is mostly high-frequency: followed, it paints textures the
teacher reads as the class while a person (or a pixel-space judge) sees noise. Three
levers, each off by default (GuidanceConfig):

- blur: low-pass the gradient with a Gaussian of `blur` pixels (of the latent) before it
  moves z, so guidance can move silhouettes and brightness but not paint fine patterns.
- noise_copies / noise_sigma: randomized smoothing. The gradient is averaged over copies of
  x0 with Gaussian noise of std noise_sigma added; directions that only work for one exact
  image (adversarial ones) cancel, directions of the class's shape add up.
- recurrence (universal guidance, Bansal et al. 2023): after a guided step z_t -> z_t',
  re-noise z_t' back to t and redo the step, so the prior pulls the change back towards
  images it would make.

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


def smoothed_gradient(loss_of, x: torch.Tensor, copies: int, sigma: float, generators) -> torch.Tensor:
    """d loss_of(x) / d x, averaged over `copies` noisy copies x + sigma * n (copies 0: at x itself).
    loss_of maps a batch to a loss summed over its samples, so copies are batched together."""
    x = x.detach()
    if copies < 1 or sigma <= 0:
        x_in = x.requires_grad_(True)
        return torch.autograd.grad(loss_of(x_in), x_in)[0]
    noisy = torch.cat([x + sigma * noise_like(x, generators) for _ in range(copies)]).requires_grad_(True)
    grad = torch.autograd.grad(loss_of(noisy), noisy)[0]
    return grad.view(copies, *x.shape).mean(0)


def renoise(z_prev: torch.Tensor, alpha_t: float, alpha_prev: float, generators) -> torch.Tensor:
    """z at the earlier (noisier) timestep t from z at t_prev, by the forward process:
    z_t = sqrt(a_t / a_prev) z_prev + sqrt(1 - a_t / a_prev) n."""
    ratio = alpha_t / alpha_prev
    return math.sqrt(ratio) * z_prev + math.sqrt(max(0.0, 1 - ratio)) * noise_like(z_prev, generators)
