"""Baseline sources: Gaussian noise, and real images (a held-out pool, or the teacher's own
training set as the upper reference). The teacher labels both; a real image's own label is
not used."""

import torch

from dfkd_core.methods.base import Key, Source, flat_plan


class Noise(Source):
    """N(mean, std²) images clipped to [0, 1]; key seed k draws its image from `seed + k`."""
    method = "noise"

    def __init__(self, teacher, count: int, mean: float = 0.5, std: float = 0.25, seed: int = 0):
        super().__init__(teacher)
        self.count, self.mean, self.std, self.seed = count, mean, std, seed

    def plan(self) -> list[Key]:
        return flat_plan(self.count)  # stored seeds count from 0 whatever `seed` is: ids c<class>-s<k>

    def make(self, keys, should_stop=None):
        shape = (self.teacher.in_channels, self.teacher.input_size, self.teacher.input_size)
        images = torch.stack([(self.mean + self.std * torch.randn(
            shape, generator=torch.Generator().manual_seed(self.seed + k.seed))).clamp(0, 1) for k in keys])
        return self.label(images, keys)

    def settings(self) -> dict:
        return {"mean": self.mean, "std": self.std, "seed": self.seed, "class_names": self.teacher.class_names}


class RealImages(Source):
    """Images of a dataset (an ImageDataset of uint8 images); a sample's seed is its index."""
    method = "real"

    def __init__(self, teacher, data, indices):
        super().__init__(teacher)
        self.data, self.indices = data, [int(i) for i in indices]

    def plan(self) -> list[Key]:
        return [Key(i) for i in self.indices]

    def make(self, keys, should_stop=None):
        images = self.data.images[torch.tensor([k.seed for k in keys])].float().div(255)
        return self.label(images, keys)

    def settings(self) -> dict:
        return {"dataset": self.data.name, "class_names": self.teacher.class_names}
