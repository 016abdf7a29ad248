"""Teacher-guided diffusion sampling (DiffDFKD).

At each step t of a DDIM trajectory: predict x0 from z_t, decode it (the autoencoder for
latent models), compute the teacher loss

    L = oh * CE(T(x0), y) + bn * sum_l (||mu_l - mu_l_run|| + ||var_l - var_l_run||) + adv * L_adv(T, S)

with L_adv = -sum_i [T, S agree on x_i] KL(T(x_i) || S(x_i)) against an online student S
trained on the finished batches (online_student.py), correct x0 down its gradient and take
the DDIM step from the corrected x0 with the denoiser's own noise estimate (MPGD; gradient.py
says how the gradient is taken and which levers shape it).

The correction moves z_t by strength * sqrt(1 - alpha_t) along the unit-RMS direction (x0
by that over sqrt(alpha_t)), so strength reads the same for every model and fades out as the
sample becomes clean. A window (start, end), as fractions of the trajectory, limits guidance
to part of it. Past `every_from` of the guided steps a fresh gradient is taken every
`every`-th step, the direction reused between (a teacher pass costs about a denoiser pass).

Before the trajectory, each sample may pick its start among `candidates` noises
(candidates.py). strength 0 (or an empty window) is unguided sampling: the prior's own
sample of each seed, whatever the other settings."""

import numpy as np
import torch

from dfkd_core.diffusion.schedule import generators_for, per_sample_noise
from dfkd_core.errors import Cancelled, DfkdError
from dfkd_core.store import LabelledBatch

from .candidates import choose_starts
from .config import GuidanceConfig
from .cutmix import latent_cutmix
from .gradient import predict
from .levers import lever_generators, renoise
from .losses import check_backbone_fits_teacher, check_guidance_fits_teacher


def _checked_inputs(backbone, teacher, targets, seeds, cfg: GuidanceConfig, student):
    cfg.validate()
    check_guidance_fits_teacher(cfg, teacher)
    check_backbone_fits_teacher(backbone, teacher)
    if cfg.adv and cfg.strength and student is None:
        raise DfkdError("The adversarial loss (adv > 0) needs an online student: pass student= (an "
                        "online_student.OnlineStudent that learns from each batch), as `dfkd generate` does.")
    targets = torch.as_tensor(targets, dtype=torch.long)
    seeds = [int(s) for s in seeds]
    if len(seeds) != len(targets):
        raise DfkdError(f"need one seed per target: {len(targets)} targets, {len(seeds)} seeds.")
    if int(targets.max()) >= teacher.num_classes or int(targets.min()) < 0:
        raise DfkdError(f"target classes must be in 0..{teacher.num_classes - 1}.")
    return targets, seeds


def guided_sample(backbone, teacher, targets, seeds, cfg: GuidanceConfig, student=None,
                  on_preview=None, preview_every: int = 0, should_stop=None,
                  init=None, start_step: int = 0, cond=None) -> LabelledBatch:
    """Sample one image per (target, seed). on_preview(step, total, x0_images) is called
    every `preview_every` steps; should_stop() is polled each step (raises Cancelled).

    SDEdit (DDA variations): `init` holds clean latents (backbone.encode of source images),
    noised with each seed's noise to the timestep of step `start_step`, where the loop
    starts. `cond` replaces backbone.conditioning (e.g. image embeddings of the sources)."""
    targets, seeds = _checked_inputs(backbone, teacher, targets, seeds, cfg, student)
    device, sched = backbone.device, backbone.schedule
    timesteps = sched.timesteps(cfg.steps)
    n = len(timesteps)
    if not 0 <= start_step < n or (start_step and init is None):
        raise ValueError(f"start_step must lie in 0..{n - 1} and, above 0, come with init latents; got {start_step}")
    start, end = int(round(cfg.window[0] * n)), int(round(cfg.window[1] * n))
    guided = cfg.strength > 0 and start < end
    conditioning = lambda y: backbone.conditioning(y, teacher.class_names, cfg.prompt)  # noqa: E731
    starts = seeds
    if guided and cfg.candidates > 1:
        if init is not None or cond is not None:
            raise DfkdError("Candidate starts need fresh noise: SDEdit variations (init, cond) take candidates=1.")
        starts = choose_starts(backbone, teacher, targets, seeds, cfg.candidates, cfg.preview_steps, conditioning,
                               should_stop, cfg.confidence)
    gens = generators_for(starts)
    # The trajectory stays in float32 whatever the backbone's dtype: only the network sees that dtype.
    z = per_sample_noise((len(seeds), *backbone.latent_shape()), gens, device, torch.float32)
    cond = conditioning(targets) if cond is None else cond
    if init is not None:
        z = sched.add_noise(init.to(device, torch.float32), z, timesteps[start_step])
    first_guided = max(start, start_step)
    sparse_from = first_guided + int(round(cfg.every_from * max(0, end - first_guided)))
    cut_steps = set(cfg.cutmix.at_steps) if cfg.cutmix else set()
    if cut_steps and min(cut_steps) < start_step:
        raise DfkdError(f"Latent CutMix steps {sorted(cut_steps)} come before step {start_step}, where this "
                        f"SDEdit trajectory starts; use CutMix steps from {start_step} on.")
    records, cut_rngs = [[] for _ in seeds], [np.random.default_rng([s, 1]) for s in seeds]
    y, direction, aux = targets.to(device), None, lever_generators(seeds)  # aux: the levers' noise, per sample

    for i, t in enumerate(timesteps[start_step:], start_step):
        if should_stop and should_stop():
            raise Cancelled()
        t_prev = timesteps[i + 1] if i + 1 < n else -1
        if i in cut_steps:
            z, recs = latent_cutmix(z, targets, cfg.cutmix.alpha, cut_rngs, i)
            for r, rec in zip(records, recs):
                if rec:  # name the partner by its seed: batch positions mean nothing once stored
                    r.append({**rec, "partner": seeds[rec["partner"]]})
        guide = guided and first_guided <= i < end
        fresh = guide and (i < sparse_from or (i - sparse_from) % cfg.every == 0)  # the first guided step is fresh
        for redo in range(1 + (cfg.recurrence if guide else 0)):
            eps, x0, new = predict(backbone, teacher, z, t, cond, y, cfg, aux, student, fresh)
            direction = new if new is not None else direction
            if guide:
                a = sched.alpha_value(t)
                shift = cfg.strength * (1 - a) ** 0.5 * direction
                z = z - shift  # move z_t; with eps fixed, x0 moves by shift / sqrt(alpha_t)
                x0 = x0 - shift / a ** 0.5
            z_next = sched.step(x0, eps, t, t_prev, cfg.eta, gens).detach()
            if redo < cfg.recurrence and guide:  # back to t by the forward process, and again
                z = renoise(z_next, sched.alpha_value(t), sched.alpha_value(t_prev), aux)
        z = z_next
        if on_preview and preview_every and (i % preview_every == 0 or i == n - 1):
            with torch.no_grad():
                on_preview(i + 1, n, backbone.decode(x0).cpu())

    with torch.no_grad():  # after the last step z is the clean sample
        images = backbone.decode(z)
        probs = teacher.probs(images.to(teacher.device)).cpu()
    return LabelledBatch(images.cpu(), targets, seeds, probs, "diffdfkd" if guided else "unguided", records)
