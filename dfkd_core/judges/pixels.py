"""Images as pixel vectors, and a PCA of them: the spaces the texture-proof judges work in.

A PCA fit on real images keeps the directions along which real images vary most (shape,
silhouette, brightness); the faint high-frequency patterns a teacher's gradient adds carry
little weight there, which is why judges in this space are hard to fool with textures."""

from dataclasses import dataclass

import torch


def as_vectors(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) floats in [0, 1] (or uint8) -> (N, C*H*W) float32 in [0, 1]."""
    x = images.float().div(255) if images.dtype == torch.uint8 else images.float()
    return x.flatten(1)


@dataclass
class PixelPCA:
    mean: torch.Tensor  # (D,) mean image of the fit set
    components: torch.Tensor  # (M, D) orthonormal rows, largest variance first
    scale: torch.Tensor  # (M,) standard deviation of the fit set along each component

    @classmethod
    def fit(cls, vectors: torch.Tensor, n_components: int) -> "PixelPCA":
        mean = vectors.mean(0)
        centred = (vectors - mean).double()
        # eigenvectors of the (D, D) covariance: much faster than an SVD of the (N, D) data
        cov = centred.T @ centred / max(len(vectors) - 1, 1)
        values, vectors_ = torch.linalg.eigh(cov)
        m = min(n_components, len(values))
        top = values.flip(0)[:m]
        components = vectors_.flip(1)[:, :m].T.float().contiguous()
        return cls(mean, components, top.clamp_min(1e-12).sqrt().float())

    def project(self, vectors: torch.Tensor) -> torch.Tensor:
        """Coordinates along the components, in pixel units (not whitened)."""
        return (vectors - self.mean) @ self.components.T

    def whiten(self, vectors: torch.Tensor) -> torch.Tensor:
        """Coordinates divided by the fit set's spread: unit variance on real images."""
        return self.project(vectors) / self.scale
