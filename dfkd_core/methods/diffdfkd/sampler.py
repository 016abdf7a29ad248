"""Teacher-guided diffusion sampling (DiffDFKD).

At each step t of a DDIM trajectory: predict x0 from z_t, decode it (VAE for latent
models), compute the teacher loss

    L = oh * CE(T(x0), y) + bn * sum_l (||mu_l - mu_l_run|| + ||var_l - var_l_run||) + adv * L_adv(T, S)

with L_adv = -sum_i [T, S agree on x_i] KL(T(x_i) || S(x_i)) against an online student S
trained on the finished batches (online_student.py), and move z_t down its gradient before
the scheduler step. Two ways to get the gradient:

- "full": d L / d z_t through the denoiser (and decoder), as in the paper;
- "x0": d L / d x0 applied without the denoiser's Jacobian (MPGD-style): the denoiser
  runs without autograd, and a step adds one teacher forward and backward pass.

Guidance moves z_t by strength * sqrt(1 - alpha_t) along the descent direction, normalised
per sample to unit RMS, so strength reads the same for every model and both modes and
fades out as the sample becomes clean. A window (start, end), as fractions of the
trajectory, limits guidance to part of it.

Gradient reuse: on the demo kit a teacher pass costs about as much as a denoiser pass, so
guided steps past `every_from` (a fraction of the guided steps) take a fresh gradient only
every `every`-th step and move along the last direction in between. The early steps, where
x0 changes most, keep a fresh gradient each: reusing there costs the most agreement with an
independent classifier (BENCHMARKS.md).

Candidate starts: with `candidates` = n > 1, each sample starts from n noises (its seed's
own and n - 1 derived from it), run unguided for the first `select_at` of the trajectory;
the teacher then keeps, per sample, the candidate whose x0 it finds most likely to be the
target, and guidance takes it from there. Guidance then has less to change, and changes
made by a small prior under strong guidance tend to be textures only the teacher reads as
the class (see BENCHMARKS.md). Candidates apply only where there is guidance (strength > 0,
a non-empty window): unguided sampling gives the prior's own sample of each seed."""

import numpy as np
import torch

from dfkd_core.diffusion.schedule import generators_for, per_sample_noise
from dfkd_core.errors import Cancelled, DfkdError  # noqa: F401  (Cancelled: raised when should_stop() turns true)
from dfkd_core.runtime.precision import autocast
from dfkd_core.store import LabelledBatch

from .config import MODES, GuidanceConfig  # noqa: F401  (re-exported: the public home of both)
from .cutmix import latent_cutmix
from .levers import gaussian_blur, lever_generators, noise_like, renoise, smoothed_gradient
from .losses import check_backbone_fits_teacher, check_guidance_fits_teacher, teacher_loss


def _network(backbone, z, t: int, cond) -> torch.Tensor:
    """The denoiser's output for the float32 trajectory state z, run in the backbone's dtype
    (under bfloat16 autocast when its precision is bf16); the schedule reads it in float32."""
    with autocast(backbone.device, backbone.precision):
        return backbone.model_output(z.to(backbone.dtype), t, cond)


def _direction(grad: torch.Tensor) -> torch.Tensor:
    rms = grad.flatten(1).pow(2).mean(1).sqrt().clamp_min(1e-12)
    return grad / rms.view(-1, *[1] * (grad.dim() - 1))


def candidate_seeds(seed: int, n: int) -> list[int]:
    """The starting-noise seeds tried for `seed`: its own, then n - 1 derived from it."""
    return [seed] + [int(np.random.SeedSequence([seed, j]).generate_state(1)[0]) for j in range(1, n)]


def _best_candidates(teacher, backbone, x0, targets) -> torch.Tensor:
    """Rows of the candidate-major batch x0 (n * B) to keep: per sample, the candidate whose
    x0 the teacher gives the highest probability of the sample's target."""
    b = len(targets)
    with torch.no_grad():
        probs = teacher.probs(backbone.decode(x0).to(teacher.device)).cpu()
    p_target = probs.gather(1, targets.repeat(len(x0) // b).view(-1, 1)).view(-1, b)
    return p_target.argmax(0) * b + torch.arange(b)


def guided_sample(backbone, teacher, targets, seeds, cfg: GuidanceConfig, student=None,
                  on_preview=None, preview_every: int = 0, should_stop=None,
                  init=None, start_step: int = 0, cond=None) -> LabelledBatch:
    """Sample one image per (target, seed). on_preview(step, total, x0_images) is called
    every `preview_every` steps; should_stop() is polled each step (raises Cancelled).

    SDEdit (DDA variations): `init` holds clean latents (backbone.encode of source images),
    noised with each seed's noise to the timestep of step `start_step`, where the loop
    starts. `cond` replaces backbone.conditioning (e.g. image embeddings of the sources)."""
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
    device, sched = backbone.device, backbone.schedule
    select = cfg.selection_step()
    if select and (init is not None or cond is not None):
        raise DfkdError("Candidate starts need fresh noise: SDEdit variations (init, cond) take candidates=1.")
    k = cfg.candidates if select else 1
    starts = [candidate_seeds(s, k) for s in seeds]  # starts[i][0] is seed i itself
    # candidate-major rows: candidate j of sample i is row j * B + i
    gens = generators_for([starts[i][j] for j in range(k) for i in range(len(seeds))])
    cut_rngs = [np.random.default_rng([s, 1]) for s in seeds]
    # The trajectory stays in float32 whatever the backbone's dtype: only the network sees that dtype.
    z = per_sample_noise((len(gens), *backbone.latent_shape()), gens, device, torch.float32)
    if cond is None:
        cond = backbone.conditioning(targets.repeat(k), teacher.class_names, cfg.prompt)
    timesteps = sched.timesteps(cfg.steps)
    n = len(timesteps)
    if not 0 <= start_step < n or (start_step and init is None):
        raise ValueError(f"start_step must lie in 0..{n - 1} and, above 0, come with init latents; got {start_step}")
    if init is not None:
        z = sched.add_noise(init.to(device, torch.float32), z, timesteps[start_step])
    start, end = int(round(cfg.window[0] * n)), int(round(cfg.window[1] * n))
    first_guided = max(start, start_step, select or 0)
    sparse_from = first_guided + int(round(cfg.every_from * max(0, end - first_guided)))
    cut_steps = set(cfg.cutmix.at_steps) if cfg.cutmix else set()
    if cut_steps and min(cut_steps) < start_step:
        raise DfkdError(f"Latent CutMix steps {sorted(cut_steps)} come before step {start_step}, where this "
                        f"SDEdit trajectory starts; use CutMix steps from {start_step} on.")
    records = [[] for _ in seeds]
    y = targets.to(device)
    direction, aux = None, lever_generators(seeds)  # aux: the levers' noise, one generator per sample

    def predict(z, t, fresh):
        """(eps, x0) at z, and when `fresh` the teacher loss's gradient w.r.t. z (full) or x0."""
        copies = max(1, cfg.noise_copies)

        def loss_of(x0_batch):  # x0 of `copies` stacked batches (noisy copies when smoothing)
            images = backbone.decode(x0_batch, clamp=False)
            with autocast(backbone.device, backbone.precision):  # the teacher's forward pass, as the denoiser's
                return teacher_loss(teacher, images, y.repeat(copies), cfg, student) / copies
        if fresh and cfg.mode == "full":
            with torch.enable_grad():
                z_in = z.detach().requires_grad_(True)
                eps, x0 = sched.split(_network(backbone, z_in, t, cond), z_in, t)
                judged = x0  # noisy copies of x0 behind the denoiser when smoothing: the gradient flows through both
                if cfg.noise_copies:
                    judged = torch.cat([x0 + cfg.noise_sigma * noise_like(x0, aux) for _ in range(cfg.noise_copies)])
                grad = torch.autograd.grad(loss_of(judged), z_in)[0]
            return eps.detach(), x0.detach(), grad
        with torch.no_grad():
            eps, x0 = sched.split(_network(backbone, z, t, cond), z, t)
        if not fresh:
            return eps, x0, None
        with torch.enable_grad():
            return eps, x0, smoothed_gradient(loss_of, x0, cfg.noise_copies, cfg.noise_sigma, aux)

    for i, t in enumerate(timesteps[start_step:], start_step):
        if should_stop and should_stop():
            raise Cancelled()
        t_prev = timesteps[i + 1] if i + 1 < n else -1
        if i in cut_steps:
            z, recs = latent_cutmix(z, targets, cfg.cutmix.alpha, cut_rngs, i)
            for r, rec in zip(records, recs):
                if rec:  # name the partner by its seed: batch positions mean nothing once stored
                    r.append({**rec, "partner": seeds[rec["partner"]]})
        guide = cfg.strength > 0 and first_guided <= i < end
        fresh = guide and (i < sparse_from or (i - sparse_from) % cfg.every == 0)  # the first guided step is fresh
        for redo in range(1 + (cfg.recurrence if guide else 0)):
            eps, x0, grad = predict(z, t, fresh)
            if grad is not None:
                direction = _direction(gaussian_blur(grad, cfg.blur))
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
                on_preview(i + 1, n, backbone.decode(x0[:len(seeds)]).cpu())
        if i + 1 == select:
            keep = _best_candidates(teacher, backbone, x0, targets)
            z, gens = z[keep.to(device)], [gens[r] for r in keep.tolist()]
            cond = backbone.conditioning(targets, teacher.class_names, cfg.prompt)

    with torch.no_grad():  # after the last step z is the clean sample
        images = backbone.decode(z)
        probs = teacher.probs(images.to(teacher.device)).cpu()
    return LabelledBatch(images.cpu(), targets, seeds, probs, "diffdfkd" if cfg.strength > 0 else "unguided", records)
