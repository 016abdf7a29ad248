"""Input preprocessing shared by training and the Teacher: images in [0, 1] of any size and
channel count -> the classifier's input size, channels and normalisation.

`resize_size` > `input_size` reproduces the evaluation transform of many classifiers
(e.g. transformers' crop_pct, torchvision's resize 256 / crop 224): resize to resize_size,
then take the central input_size square."""

import torch
import torch.nn.functional as F
from torch import nn


class Preprocess(nn.Module):
    def __init__(self, in_channels: int, input_size: int, mean, std, resize_size: int | None = None):
        super().__init__()
        if len(mean) != in_channels or len(std) != in_channels:
            raise ValueError(f"mean/std need {in_channels} values, got {len(mean)} and {len(std)}")
        resize_size = input_size if resize_size is None else int(resize_size)
        if resize_size < input_size:
            raise ValueError(f"resize_size {resize_size} is smaller than the crop {input_size}")
        self.in_channels, self.input_size, self.resize_size = in_channels, input_size, resize_size
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)

    def settings(self) -> dict:
        """What rebuilds this preprocessing (a card's fields): Preprocess(**settings())."""
        return {"in_channels": self.in_channels, "input_size": self.input_size,
                "mean": self.mean.flatten().tolist(), "std": self.std.flatten().tolist(),
                "resize_size": self.resize_size}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        if c != self.in_channels:
            if c == 1:
                x = x.expand(-1, self.in_channels, -1, -1)
            elif c == 3 and self.in_channels == 1:  # ITU-R 601 luma
                x = (x * x.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
            else:
                raise ValueError(f"cannot convert {c}-channel images to {self.in_channels} channels")
        side = self.resize_size
        if x.shape[-2:] != (side, side):
            x = F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False, antialias=x.shape[-1] > side)
        if side != self.input_size:
            top = (side - self.input_size) // 2  # transformers' and torchvision's center_crop offset
            x = x[..., top:top + self.input_size, top:top + self.input_size]
        return (x - self.mean) / self.std
