"""A linear classifier (multinomial logistic regression) on the pixel-PCA coordinates of
real images. It sees only the broad shapes the leading components hold, so adversarial
textures cannot move it far; it cannot see fine detail either, and being linear it mistakes
classes whose silhouettes overlap (shirt, pullover, coat)."""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .pixels import PixelPCA, as_vectors


@dataclass
class PCALinear:
    pca: PixelPCA
    weight: torch.Tensor  # (K, M)
    bias: torch.Tensor  # (K,)

    @classmethod
    def fit(cls, pca: PixelPCA, images: torch.Tensor, labels: torch.Tensor, num_classes: int,
            weight_decay: float = 1e-3, iterations: int = 200, seed: int = 0) -> "PCALinear":
        x = pca.whiten(as_vectors(images))
        torch.manual_seed(seed)
        w = torch.zeros(num_classes, x.shape[1], requires_grad=True)
        b = torch.zeros(num_classes, requires_grad=True)
        opt = torch.optim.LBFGS([w, b], lr=1, max_iter=iterations, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = F.cross_entropy(x @ w.T + b, labels) + weight_decay * w.pow(2).sum()
            loss.backward()
            return loss

        with torch.enable_grad():
            opt.step(closure)
        return cls(pca, w.detach(), b.detach())

    def scores(self, images: torch.Tensor) -> torch.Tensor:
        """(N, K) class probabilities."""
        return (self.pca.whiten(as_vectors(images)) @ self.weight.T + self.bias).softmax(1)

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        return self.scores(images).argmax(1)
