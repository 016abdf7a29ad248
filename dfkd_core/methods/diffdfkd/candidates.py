"""Candidate starts: many cheap unguided previews, the teacher picking per sample.

Each sample tries `candidates` starting noises (its seed's own and n - 1 derived from it).
Each is denoised without guidance in `preview_steps` DDIM steps (deterministic, so the rough
image is what the full trajectory from that noise will draw, at lower detail); the teacher
keeps, per sample, the start whose rough image it finds most likely to be the target. A
prior that draws recognisable images draws each class now and then: the chosen start then
already holds the class, and guidance has only to confirm it, where pushing another class
into it paints textures (BENCHMARKS.md, "Guided samples")."""

import numpy as np
import torch

from dfkd_core.diffusion.schedule import generators_for, per_sample_noise
from dfkd_core.errors import Cancelled

from .gradient import network

PREVIEW_ELEMENTS = 1 << 18  # latent elements previewed at once (64 demo latents; one Stable Diffusion latent)


def candidate_seeds(seed: int, n: int) -> list[int]:
    """The starting-noise seeds tried for `seed`: its own, then n - 1 derived from it."""
    return [seed] + [int(np.random.SeedSequence([seed, j]).generate_state(1)[0]) for j in range(1, n)]


@torch.no_grad()
def preview_probs(backbone, teacher, targets: torch.Tensor, seeds: list, steps: int, conditioning,
                  should_stop=None) -> torch.Tensor:
    """The teacher's probability of each target on the rough image of each seed's noise."""
    sched, device = backbone.schedule, backbone.device
    timesteps = sched.timesteps(steps)
    shape = backbone.latent_shape()
    rows = max(1, PREVIEW_ELEMENTS // int(np.prod(shape)))
    out = []
    for start in range(0, len(seeds), rows):
        part, y = seeds[start:start + rows], targets[start:start + rows]
        z = per_sample_noise((len(part), *shape), generators_for(part), device, torch.float32)
        cond = conditioning(y)
        for i, t in enumerate(timesteps):
            if should_stop and should_stop():
                raise Cancelled("cancelled while previewing candidate starts")
            eps, x0 = sched.split(network(backbone, z, t, cond), z, t)
            z = sched.step(x0, eps, t, timesteps[i + 1] if i + 1 < len(timesteps) else -1, 0.0)
        probs = teacher.probs(backbone.decode(z).to(teacher.device)).cpu()
        out.append(probs.gather(1, y.cpu().view(-1, 1)).view(-1))
    return torch.cat(out)


def choose_starts(backbone, teacher, targets: torch.Tensor, seeds: list, candidates: int, steps: int,
                  conditioning, should_stop=None, confidence: float = 1.0) -> list[int]:
    """Each sample's starting seed: the candidate whose preview the teacher rates highest or,
    with confidence < 1, the first whose preview reaches it (the most likely when none does):
    starts then vary as the prior's do, instead of gathering on each class's most typical image."""
    tried = [candidate_seeds(s, candidates) for s in seeds]
    flat = [c for row in tried for c in row]  # sample-major: sample i's candidates are rows i*n .. i*n+n-1
    probs = preview_probs(backbone, teacher, targets.repeat_interleave(candidates), flat, steps, conditioning,
                          should_stop).view(len(seeds), candidates)
    best = probs.argmax(1)
    if confidence < 1:
        reached = probs >= confidence
        best = torch.where(reached.any(1), reached.float().argmax(1), best)  # argmax: the first True
    best = best.tolist()
    return [row[j] for row, j in zip(tried, best)]
