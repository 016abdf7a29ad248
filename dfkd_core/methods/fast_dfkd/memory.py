"""Fast-DFKD's image memory: every episode's images, from which the online student draws
its KD batches. Held as uint8, exactly as the sample store keeps them (PNG), so a memory
rebuilt from the store when a run resumes is the memory the uninterrupted run had. Only the
newest `capacity` images are kept."""

import torch


def as_uint8(images: torch.Tensor) -> torch.Tensor:
    """Floats in [0, 1] -> uint8, rounded as the store rounds (store.batch.to_uint8)."""
    return (images.clamp(0, 1) * 255).round().to(torch.uint8)


class ImageMemory:
    def __init__(self, capacity: int):
        self.capacity = capacity
        self.images: torch.Tensor | None = None

    def __len__(self) -> int:
        return 0 if self.images is None else len(self.images)

    def add(self, images: torch.Tensor):
        new = as_uint8(images.detach().cpu())
        self.images = new if self.images is None else torch.cat([self.images, new])
        self.images = self.images[-self.capacity:]

    def draw(self, n: int, gen: torch.Generator) -> torch.Tensor:
        """n images (all of them if fewer), without replacement, as floats in [0, 1]."""
        pick = torch.randperm(len(self), generator=gen)[:n]
        return self.images[pick].float() / 255
