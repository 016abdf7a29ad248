"""DeepInversion baseline (Yin et al., 2020): optimise images from noise so the teacher
classifies them as their targets and their BatchNorm input statistics match the teacher's
running statistics; no generator. Images are sigmoid(v) so they stay in [0, 1]; each step
sees a random shift and flip (the jitter of the paper)."""

from dataclasses import asdict

import torch
import torch.nn.functional as F

from dfkd_core.data.image_dataset import random_crop_flip
from dfkd_core.methods.base import Key, Source, flat_plan
from dfkd_core.store import LabelledBatch
from dfkd_core.teacher.model import bn_statistics_loss

from .config import DeepInversionConfig


def total_variation(x: torch.Tensor) -> torch.Tensor:
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


def deep_inversion(teacher, targets: torch.Tensor, seeds, cfg: DeepInversionConfig, should_stop=lambda: False):
    """Returns (images in [0, 1] on the CPU, teacher probabilities); the start of sample k is
    drawn from its own seed."""
    device = teacher.device
    c, s = teacher.in_channels, teacher.input_size
    v = torch.stack([torch.randn(c, s, s, generator=torch.Generator().manual_seed(int(k))) for k in seeds])
    v = v.to(device).requires_grad_(True)
    targets = targets.to(device)
    opt = torch.optim.Adam([v], lr=cfg.lr, betas=(0.5, 0.9))
    gen = torch.Generator().manual_seed(int(seeds[0]))
    for _ in range(cfg.iterations):
        if should_stop and should_stop():  # the unfinished batch goes back; write_source does not store it
            break
        x = torch.sigmoid(v)
        x_aug = random_crop_flip(x, cfg.jitter, True, gen) if cfg.jitter else x
        with teacher.bn_statistics() as stats:
            logits = teacher(x_aug)
        loss = cfg.oh * F.cross_entropy(logits, targets) + cfg.bn * bn_statistics_loss(stats) \
            + cfg.tv * total_variation(x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    images = torch.sigmoid(v.detach())
    with torch.no_grad():
        probs = teacher.probs(images)
    return images.cpu(), probs.cpu()


class DeepInversion(Source):
    """Seed `seed + i` is sample i; its class is i mod K, so every batch mixes classes as in
    the paper. The optimisation sees the whole batch (BN statistics): a resumed run makes
    the same batches, cut from the same plan."""
    method = "deepinversion"

    def __init__(self, teacher, cfg: DeepInversionConfig, per_class: int = 100, seed: int = 0):
        super().__init__(teacher)
        self.cfg, self.per_class, self.seed = cfg, per_class, seed

    def plan(self) -> list[Key]:
        k = self.teacher.num_classes
        return flat_plan(self.per_class * k, self.seed, [i % k for i in range(self.per_class * k)])

    def make(self, keys, should_stop=None):
        targets = torch.tensor([k.target for k in keys])
        images, probs = deep_inversion(self.teacher, targets, [k.seed for k in keys], self.cfg, should_stop)
        return LabelledBatch(images, targets, [k.seed for k in keys], probs, self.method)

    def settings(self) -> dict:
        return {**asdict(self.cfg), "class_names": self.teacher.class_names}
