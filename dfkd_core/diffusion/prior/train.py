"""Training the latent prior in two resumable phases: the autoencoder on the pool's images,
then the denoiser on the pool's scaled latents (with an EMA copy, torch's swa_utils).

Each phase keeps one state file in the work folder (io.save_state: weights, optimiser,
LR schedule, random generator, step, seconds), written every `save_every` steps and when
stopped, so a killed run loses at most `save_every` steps and a resumed run continues the
same random stream. The length of the denoiser's run may change on resume; nothing else."""

import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from dfkd_core.errors import DfkdError
from dfkd_core.io import load_state, save_state

from .config import LatentPriorConfig, make_autoencoder, make_scheduler, make_unet

RESUMABLE = ("steps", "save_every")  # settings a resumed run may change


def _warmup_cosine(warmup: int, total: int):
    return lambda s: min(1.0, (s + 1) / max(1, warmup)) * 0.5 * (1 + math.cos(math.pi * min(s, total) / total))


class _Phase:
    """One phase's step loop: resume, checkpoint, progress, stop."""

    def __init__(self, name, path: Path, cfg: LatentPriorConfig, total: int, modules: dict, gen, progress):
        self.name, self.path, self.cfg, self.total = name, path, cfg, total
        self.modules, self.gen, self.progress = modules, gen, progress
        self.step, self.seconds, self.cpu_seconds, self.losses = 0, 0.0, 0.0, []
        if path.exists():
            self._resume(load_state(path))

    def _resume(self, state):
        fixed = lambda c: {k: v for k, v in c.items() if k not in RESUMABLE}
        if fixed(state["config"]) != fixed(self.cfg.plain()):
            raise DfkdError(f"{self.path} was made with other settings ({state['config']}); rerun with those, "
                            "or use a new work folder.")
        for key, module in self.modules.items():
            module.load_state_dict(state[key])
        self.gen.set_state(state["generator"])
        self.step, self.seconds, self.losses = state["step"], state["seconds"], state["losses"]
        self.cpu_seconds = state["cpu_seconds"]

    def save(self):
        save_state(self.path, {**{k: m.state_dict() for k, m in self.modules.items()},
                               "generator": self.gen.get_state(), "step": self.step, "seconds": self.seconds,
                               "cpu_seconds": self.cpu_seconds, "losses": self.losses, "config": self.cfg.plain()})

    def run(self, step_fn, should_stop) -> bool:
        """Calls step_fn() -> loss until total steps; True when the phase is complete."""
        wall, cpu = time.time() - self.seconds, time.process_time() - self.cpu_seconds
        while self.step < self.total:
            if should_stop():
                break
            loss = step_fn()
            if not math.isfinite(loss):
                raise DfkdError(f"The {self.name} loss became {loss} at step {self.step}: training diverged. "
                                "Lower the learning rate and use a new work folder.")
            self.step += 1
            self.losses.append(round(loss, 5))
            self.seconds, self.cpu_seconds = time.time() - wall, time.process_time() - cpu
            if self.progress:
                self.progress(self.name, self.step, self.total, loss)
            if self.step % self.cfg.save_every == 0:
                self.save()
        self.save()
        return self.step >= self.total

    def summary(self) -> dict:
        tail = self.losses[-100:]
        return {"steps": self.step, "wall_seconds": round(self.seconds, 1), "cpu_seconds": round(self.cpu_seconds, 1),
                "final_loss_avg100": round(sum(tail) / max(1, len(tail)), 5)}


def _adamw(model, lr):
    return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)


def _train_autoencoder(images, cfg, work: Path, progress, should_stop):
    torch.manual_seed(cfg.seed)  # the weights' start: the same whatever the process did before
    ae = make_autoencoder(cfg, images.shape[1], images.shape[-1])
    opt = _adamw(ae, cfg.ae_lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _warmup_cosine(200, cfg.ae_steps))
    gen = torch.Generator().manual_seed(cfg.seed)
    phase = _Phase("autoencoder", work / "autoencoder.safetensors", cfg, cfg.ae_steps,
                   {"model": ae, "optimizer": opt, "scheduler": sched}, gen, progress)

    def step():
        x = images[torch.randint(0, len(images), (cfg.ae_batch_size,), generator=gen)].float() / 127.5 - 1
        posterior = ae.encode(x).latent_dist
        recon = ae.decode(posterior.sample(generator=gen)).sample
        loss = F.l1_loss(recon, x) + cfg.kl_weight * posterior.kl().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(ae.parameters(), 1.0)
        opt.step()
        sched.step()
        return loss.item()

    done = phase.run(step, should_stop)
    return ae.eval().requires_grad_(False), phase, done


@torch.no_grad()
def _encode_pool(ae, images, cfg, path: Path) -> dict:
    """Posterior means and stds of every pool image, and the factor that scales latents to
    unit variance (as Stable Diffusion's scaling_factor), computed once and kept."""
    if path.exists():
        return load_state(path)
    means, stds = [], []
    for chunk in images.split(500):
        dist = ae.encode(chunk.float() / 127.5 - 1).latent_dist
        means.append(dist.mean)
        stds.append(dist.std)
    mean, std = torch.cat(means), torch.cat(stds)
    gen = torch.Generator().manual_seed(cfg.seed)
    sampled = mean + std * torch.randn(mean.shape, generator=gen)
    latents = {"mean": mean, "std": std, "scaling_factor": float(1 / sampled.std())}
    save_state(path, latents)
    return latents


def _train_denoiser(latents, cfg, work: Path, progress, should_stop):
    mean, std, scale = latents["mean"], latents["std"], latents["scaling_factor"]
    torch.manual_seed(cfg.seed)
    unet = make_unet(cfg, mean.shape[-1])
    ema = AveragedModel(unet, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema), use_buffers=True)
    opt = _adamw(unet, cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _warmup_cosine(cfg.warmup, cfg.steps))
    alphas = make_scheduler().alphas_cumprod.float()
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    phase = _Phase("denoiser", work / "denoiser.safetensors", cfg, cfg.steps,
                   {"model": unet, "ema": ema, "optimizer": opt, "scheduler": sched}, gen, progress)

    def step():
        idx = torch.randint(0, len(mean), (cfg.batch_size,), generator=gen)
        z0 = (mean[idx] + std[idx] * torch.randn(mean[idx].shape, generator=gen)) * scale
        noise = torch.randn(z0.shape, generator=gen)
        t = torch.randint(0, len(alphas), (cfg.batch_size,), generator=gen)
        a = alphas[t].view(-1, 1, 1, 1)
        loss = F.mse_loss(unet(a.sqrt() * z0 + (1 - a).sqrt() * noise, t).sample, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        sched.step()
        ema.update_parameters(unet)
        return loss.item()

    done = phase.run(step, should_stop)
    return ema.module.eval().requires_grad_(False), phase, done


def train_latent_prior(images: torch.Tensor, cfg: LatentPriorConfig, work_dir, progress=None,
                       should_stop=lambda: False):
    """images: uint8 (N, C, H, W). Returns (autoencoder, EMA denoiser, summary); summary["done"]
    is False when should_stop() stopped it (rerun with the same work_dir to resume)."""
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    ae, ae_phase, done = _train_autoencoder(images, cfg, work, progress, should_stop)
    summary = {"autoencoder": ae_phase.summary(), "done": False}
    if not done:
        return ae, None, summary
    latents = _encode_pool(ae, images, cfg, work / "latents.safetensors")
    ae.register_to_config(scaling_factor=latents["scaling_factor"])
    unet, unet_phase, done = _train_denoiser(latents, cfg, work, progress, should_stop)
    summary.update(denoiser=unet_phase.summary(), done=done, scaling_factor=latents["scaling_factor"])
    return ae, unet, summary
