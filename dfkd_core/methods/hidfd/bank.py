"""The real images the HiDFD discriminator sees: augmented copies made once, with the
frozen teacher's features of each (the teacher's forward pass is most of a step's cost on
a CPU, so the features of real images are computed once, not at every step)."""

import torch

from dfkd_core.data.image_dataset import ImageDataset

from .augment import diff_augment
from .config import GANConfig

MAX_BANK = 20_000  # augmented real images held in the bank at most


class RealBank:
    """The real images the discriminator sees, augmented, with the teacher's features of each.
    The features are inputs of D's teacher branch: the teacher is frozen and nothing before it
    trains, so they need no graph (the branch's own weights are trained by D's loss)."""

    def __init__(self, real: ImageDataset, teacher, cfg: GANConfig, device):
        self.teacher, self.augment, self.device = teacher, cfg.augment, device
        self.use_feats = cfg.feature_integration
        x = real.images.float().div(255)
        # without augmentation one copy is the whole bank; many real images get fewer copies
        copies = min(cfg.real_bank, 1 if not cfg.augment else max(1, MAX_BANK // len(real)))
        self.fixed = copies > 0
        if self.fixed:
            rng = torch.Generator().manual_seed(cfg.seed + 2)
            x = torch.cat([diff_augment(x, cfg.augment, rng) for _ in range(copies)]) if cfg.augment else x
            self.x, self.y = x.to(device), real.labels.repeat(copies).to(device)
            if self.use_feats:
                self.feats = torch.cat([self._features(self.x[i:i + 500]) for i in range(0, len(self.x), 500)])
        else:
            self.x, self.y = x.to(device), real.labels.to(device)

    @torch.no_grad()
    def _features(self, x):
        return self.teacher.features(x) if self.use_feats else None

    def draw(self, n: int, rng):
        idx = torch.randint(0, len(self.x), (n,), generator=rng).to(self.device)
        if self.fixed:
            return self.x[idx], self.y[idx], self.feats[idx] if self.use_feats else None
        x = diff_augment(self.x[idx], self.augment, rng)
        return x, self.y[idx], self._features(x)
