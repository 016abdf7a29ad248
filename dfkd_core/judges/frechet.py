"""Fréchet distance between two sets of images, each summarised by the mean and covariance
of its pixel-PCA coordinates (the FID formula, in a space fit on real images rather than in
a network's features, so the teacher's blind spots do not shape it).

With few samples the covariance is noisy and the distance biased upwards, so the panel
reports beside it the distance of as many real images (the "real floor")."""

import numpy as np
import torch


def gaussian_stats(coords: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    x = coords.double().numpy()
    cov = np.cov(x, rowvar=False) if len(x) > 1 else np.zeros((x.shape[1], x.shape[1]))
    return x.mean(0), np.atleast_2d(cov)


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh((m + m.T) / 2)
    return (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T


def frechet_distance(stats_a, stats_b) -> float:
    """|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2), all real arithmetic."""
    (mu_a, cov_a), (mu_b, cov_b) = stats_a, stats_b
    root_a = _sqrt_psd(cov_a)
    cross = _sqrt_psd(root_a @ cov_b @ root_a)
    d = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(cross))
    return max(d, 0.0)
