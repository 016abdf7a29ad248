"""In-memory image dataset: uint8 images (N, C, H, W) and integer labels.

Images stay uint8 until a batch is drawn, so 60k Fashion-MNIST images take 60 MB, and
batches are augmented as tensors (much faster on a CPU than per-image PIL transforms).
"""

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class ImageDataset:
    images: torch.Tensor  # uint8, (N, C, H, W)
    labels: torch.Tensor  # int64, (N,)
    class_names: list = field(default_factory=list)
    name: str = ""

    def __post_init__(self):
        assert self.images.dtype == torch.uint8 and self.images.ndim == 4, "images must be uint8 (N, C, H, W)"
        assert len(self.images) == len(self.labels), "one label per image"

    def __len__(self):
        return len(self.labels)

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def size(self) -> int:
        return self.images.shape[-1]

    def subset(self, indices, name=None) -> "ImageDataset":
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        return ImageDataset(self.images[idx], self.labels[idx], self.class_names, name or self.name)

    def pad_to(self, size: int) -> "ImageDataset":
        """Zero-pad (centre) to size x size, e.g. 28 -> 32 for Fashion-MNIST."""
        h, w = self.images.shape[-2:]
        if (h, w) == (size, size):
            return self
        top, left = (size - h) // 2, (size - w) // 2
        padded = F.pad(self.images, (left, size - w - left, top, size - h - top))
        return ImageDataset(padded, self.labels, self.class_names, self.name)

    def batches(self, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None):
        """Yield (float images in [0, 1], labels)."""
        order = torch.randperm(len(self), generator=generator) if shuffle else torch.arange(len(self))
        for start in range(0, len(self), batch_size):
            idx = order[start:start + batch_size]
            yield self.images[idx].float().div_(255), self.labels[idx]


def random_crop_flip(x: torch.Tensor, pad: int, flip: bool, generator: torch.Generator | None = None):
    """Batch augmentation: per image, a random shift of up to `pad` pixels (zero fill) and,
    if `flip`, a horizontal flip with probability 1/2."""
    n, c, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    # drawn on the CPU (a CPU generator), used where x is (DeepInversion, Fast-DFKD on a GPU)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device)).view(n, 1, h, 1).expand(n, c, h, w + 2 * pad)
    cols = (dx[:, None] + torch.arange(w, device=x.device)).view(n, 1, 1, w).expand(n, c, h, w)
    out = padded.gather(2, rows).gather(3, cols)
    if flip:
        mask = (torch.rand(n, generator=generator) < 0.5).to(x.device)
        out[mask] = out[mask].flip(-1)
    return out


def pick_indices(n: int, count: int | None, seed: int) -> list[int]:
    """`count` of range(n) drawn without replacement by `seed`, sorted (all of them if count is None)."""
    order = np.random.default_rng(seed).permutation(n)
    return sorted(order[:count].tolist()) if count else list(range(n))
