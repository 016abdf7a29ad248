"""Latent CutMix (DiffDFKD): inside the denoising loop, at chosen steps, paste a box of a
same-class partner's latent into each latent; the remaining steps repair the seam.
Box area fraction 1 - lambda with lambda ~ Beta(alpha, alpha), so its side is
proportional to sqrt(1 - lambda); labels stay the target class."""

from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import DfkdError


@dataclass
class CutMixConfig:
    at_steps: list = field(default_factory=lambda: [5])  # step indices (0 = first, noisiest)
    alpha: float = 1.0

    def validate(self, steps: int):
        """Every CutMix step must be a step of the trajectory: one past its end would never happen."""
        bad = [s for s in self.at_steps if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < steps]
        if bad:
            raise DfkdError(f"Latent CutMix steps {bad} must lie in 0..{steps - 1}: step indices of the {steps}-step "
                            "trajectory (0 = the first, noisiest step).")
        if not self.alpha > 0:
            raise DfkdError(f"Latent CutMix alpha (of Beta(alpha, alpha)) must be > 0, got {self.alpha}.")


def _partners(targets: list[int]) -> list[int | None]:
    """Each sample's partner: the next sample of the same class in the batch (cyclic)."""
    partners = []
    for i, y in enumerate(targets):
        same = [j for j, yj in enumerate(targets) if yj == y and j != i]
        partners.append(min(same, key=lambda j: (j - i) % len(targets)) if same else None)
    return partners


def latent_cutmix(z: torch.Tensor, targets, alpha: float, rngs: list[np.random.Generator], step: int):
    """Returns (mixed z, one record per sample). A sample without a same-class partner in
    the batch is left unchanged (record None)."""
    n, _, h, w = z.shape
    out, records = z.clone(), []
    for i, j in enumerate(_partners([int(y) for y in targets])):
        if j is None:
            records.append(None)
            continue
        lam = float(rngs[i].beta(alpha, alpha))
        cut = np.sqrt(1.0 - lam)
        bh, bw = max(1, int(round(h * cut))), max(1, int(round(w * cut)))
        top, left = int(rngs[i].integers(0, h - bh + 1)), int(rngs[i].integers(0, w - bw + 1))
        out[i, :, top:top + bh, left:left + bw] = z[j, :, top:top + bh, left:left + bw]
        records.append({"partner": j, "step": step, "lambda": round(lam, 4),
                        "box": [top, left, top + bh, left + bw], "area": round(bh * bw / (h * w), 4)})
    return out, records
