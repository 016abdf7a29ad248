"""CMI's contrastive loss (Fang et al., "Contrastive Model Inversion for Data-Free Knowledge
Distillation", IJCAI 2021), written from the paper.

An image's feature is the per-instance channel mean of the input of every BatchNorm layer of
the teacher, concatenated. A projection head (two linear layers, L2-normalised output) maps
the features of a local view (a random resized crop) and of a global view (a small shift) of
each image; the loss is InfoNCE over the batch and negatives drawn from a bank of earlier
batches' features: each local view must pick out its own global view. Images that the
teacher sees as alike are so pushed apart, which is what makes CMI's images diverse."""

from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn


@contextmanager
def instance_means(teacher):
    """Inside the block, every teacher forward appends one (batch, channels) tensor per BN layer."""
    seen: list[torch.Tensor] = []

    def hook(_module, inputs, _output):
        x = inputs[0].float()
        seen.append(x.flatten(2).mean(2) if x.dim() > 2 else x)  # (BatchNorm1d: the features themselves)

    handles = [m.register_forward_hook(hook) for m in teacher.batchnorm_layers()]
    try:
        yield seen
    finally:
        for h in handles:
            h.remove()


def feature_size(teacher) -> int:
    return sum(m.num_features for m in teacher.batchnorm_layers())


class ProjectionHead(nn.Module):
    def __init__(self, dim_in: int, dim_out: int):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(dim_in, dim_in), nn.ReLU(), nn.Linear(dim_in, dim_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.layers(x), dim=1)


class FeatureBank:
    """The newest `size` (local, global) feature pairs, on the CPU, as one (n, 2 dim) table."""

    def __init__(self, size: int, dim: int):
        self.size, self.dim = size, dim
        self.data = torch.zeros(0, 2 * dim)

    def __len__(self) -> int:
        return len(self.data)

    def add(self, local: torch.Tensor, glob: torch.Tensor):
        self.data = torch.cat([self.data, torch.cat([local, glob], 1).detach().float().cpu()])[-self.size:]

    def draw(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """n pairs (all if fewer) without replacement: (local, global)."""
        picked = self.data[torch.randperm(len(self.data), generator=gen)[:n]]
        return picked[:, :self.dim], picked[:, self.dim:]

    def state_dict(self) -> dict:
        return {"data": self.data}

    def load_state_dict(self, state: dict):
        data = state["data"]
        if data.dim() != 2 or data.shape[1] != 2 * self.dim or len(data) > self.size:
            raise ValueError(f"a feature bank of shape {tuple(data.shape)} does not fit ({self.size}, {2 * self.dim})")
        self.data = data.float()


def contrastive_loss(head: ProjectionHead, local: torch.Tensor, glob: torch.Tensor, bank_local: torch.Tensor,
                     bank_global: torch.Tensor, temperature: float) -> torch.Tensor:
    """InfoNCE of local views against global views (the targets, detached), over the batch and
    the drawn bank pairs. As CMI, the batch's mean and the bank's mean are added rather than
    averaged together, so a large bank does not dilute the generator's gradient."""
    n = len(local)
    device = local.device
    keys = head(torch.cat([glob, bank_global.to(device)])).detach()
    queries = head(torch.cat([local, bank_local.to(device)]))
    per_pair = F.cross_entropy(queries @ keys.T / temperature, torch.arange(len(queries), device=device),
                               reduction="none")
    return per_pair[:n].mean() + (per_pair[n:].mean() if len(per_pair) > n else 0)
