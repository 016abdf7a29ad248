"""What a source hands to the store: a batch of images with the teacher's verdict."""

from dataclasses import dataclass, field

import numpy as np
import torch


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B, C, H, W) floats in [0, 1] -> (B, H, W[, C]) uint8."""
    arr = (images.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return arr[..., 0] if arr.shape[-1] == 1 else arr


@dataclass
class LabelledBatch:
    """Images with the teacher's verdict, as SampleStore.add takes them."""
    images: torch.Tensor  # (B, C, H, W) in [0, 1], CPU
    targets: torch.Tensor
    seeds: list
    probs: torch.Tensor  # teacher probabilities (B, K)
    method: str  # how the images were made, as the store records it
    records: list = field(default_factory=list)  # per sample: CutMix records (or [])

    @property
    def target_prob(self) -> torch.Tensor:
        return self.probs.gather(1, self.targets.view(-1, 1)).squeeze(1)
