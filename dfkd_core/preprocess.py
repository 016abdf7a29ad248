"""Input preprocessing shared by training and the Teacher: images in [0, 1] of any size and
channel count -> the classifier's input size, channels and normalisation."""

import torch
from torch import nn
import torch.nn.functional as F


class Preprocess(nn.Module):
    def __init__(self, in_channels: int, input_size: int, mean, std):
        super().__init__()
        if len(mean) != in_channels or len(std) != in_channels:
            raise ValueError(f"mean/std need {in_channels} values, got {len(mean)} and {len(std)}")
        self.in_channels, self.input_size = in_channels, input_size
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        if c != self.in_channels:
            if c == 1:
                x = x.expand(-1, self.in_channels, -1, -1)
            elif c == 3 and self.in_channels == 1:  # ITU-R 601 luma
                x = (x * x.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
            else:
                raise ValueError(f"cannot convert {c}-channel images to {self.in_channels} channels")
        if x.shape[-2:] != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear",
                              align_corners=False, antialias=x.shape[-1] > self.input_size)
        return (x - self.mean) / self.std
