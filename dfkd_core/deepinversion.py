"""DeepInversion baseline (Yin et al., 2020): optimise images from noise so the teacher
classifies them as their targets and their BatchNorm input statistics match the teacher's
running statistics; no generator. Images are sigmoid(v) so they stay in [0, 1]; each step
sees a random shift and flip (the jitter of the paper)."""

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from .data.image_dataset import random_crop_flip
from .data.store import LabelledBatch
from .stages import check_keys, write_in_batches
from .teacher import bn_statistics_loss


@dataclass
class DeepInversionConfig:
    iterations: int = 200
    lr: float = 0.1
    oh: float = 1.0  # teacher cross-entropy
    bn: float = 1.0  # BN-statistics loss (the paper's feature-distribution regulariser)
    tv: float = 1e-3  # total variation, a smoothness prior
    jitter: int = 2
    batch_size: int = 100


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
        if should_stop():
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


def stage(settings: dict, ctx):
    """Pipeline stage `deepinversion`: {per_class, seed, and DeepInversionConfig's fields}."""
    check_keys("deepinversion", settings, set(DeepInversionConfig.__dataclass_fields__) | {"per_class", "seed"})
    cfg = DeepInversionConfig(**{k: v for k, v in settings.items() if k in DeepInversionConfig.__dataclass_fields__})
    per_class, base = int(settings.get("per_class", 100)), int(settings.get("seed", ctx.config.get("seed", 0)))
    k = ctx.teacher.num_classes
    # Seed i is sample i; its class is i mod K, so every batch mixes classes as in the paper.
    keys = [base + i for i in range(per_class * k)]

    def make(seeds):
        targets = torch.tensor([(s - base) % k for s in seeds])
        images, probs = deep_inversion(ctx.teacher, targets, seeds, cfg, ctx.should_stop)
        return LabelledBatch(images, targets, list(seeds), probs, "deepinversion")

    write_in_batches(ctx, "deepinversion", keys, make,
                      {**asdict(cfg), "class_names": ctx.teacher.class_names}, batch_size=cfg.batch_size)
