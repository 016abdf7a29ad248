"""Latent CutMix (DiffDFKD): inside the denoising loop, at chosen steps, paste a box of a
same-class partner's latent into each latent; the remaining steps repair the seam.
Box area fraction 1 - lambda with lambda ~ Beta(alpha, alpha), so its side is
proportional to sqrt(1 - lambda); labels stay the target class."""


import numpy as np
import torch


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
