"""The sampler's own DDIM/DDPM update, written from x0 and eps so that guidance can edit
either, with per-sample random generators (identical samples for identical seeds,
whatever the batch). Timesteps and the noise schedule come from the model's diffusers
scheduler config, so any step count and its timestep spacing (e.g. sd-turbo's
'trailing') are honoured."""

import torch
from diffusers import DDIMScheduler


class NoiseSchedule:
    def __init__(self, scheduler_config: dict, prediction_type: str | None = None):
        self._scheduler = DDIMScheduler.from_config(dict(scheduler_config))
        self.alphas_cumprod = self._scheduler.alphas_cumprod.double()
        self.prediction_type = prediction_type or self._scheduler.config.prediction_type
        if self.prediction_type not in ("epsilon", "v_prediction", "sample"):
            raise ValueError(f"unsupported prediction type {self.prediction_type}")
        self.num_train_timesteps = self._scheduler.config.num_train_timesteps
        # As diffusers' DDIM: pixel models (clip_sample=True) keep x0 in range, which keeps
        # early, badly determined x0 estimates from blowing up.
        config = self._scheduler.config
        self.clip_range = config.clip_sample_range if config.clip_sample else None

    def timesteps(self, num_steps: int) -> list[int]:
        self._scheduler.set_timesteps(num_steps)
        return [int(t) for t in self._scheduler.timesteps]

    def alpha(self, t: int, like: torch.Tensor) -> torch.Tensor:
        """Cumulative alpha at t; t < 0 means the clean end of the trajectory (1)."""
        value = self.alphas_cumprod[t] if t >= 0 else torch.tensor(1.0, dtype=torch.float64)
        return value.to(device=like.device, dtype=like.dtype)

    def split(self, model_output: torch.Tensor, z: torch.Tensor, t: int):
        """(eps, x0) from the network output at noisy sample z, timestep t."""
        a = self.alpha(t, z)
        if self.prediction_type == "epsilon":
            eps = model_output
            x0 = (z - (1 - a).sqrt() * eps) / a.sqrt()
        elif self.prediction_type == "v_prediction":
            x0 = a.sqrt() * z - (1 - a).sqrt() * model_output
            eps = a.sqrt() * model_output + (1 - a).sqrt() * z
        else:
            x0 = model_output
            eps = (z - a.sqrt() * x0) / (1 - a).sqrt()
        if self.clip_range is not None:
            x0 = x0.clamp(-self.clip_range, self.clip_range)
            eps = self.eps_from_x0(z, x0, t)
        return eps, x0

    def eps_from_x0(self, z: torch.Tensor, x0: torch.Tensor, t: int) -> torch.Tensor:
        a = self.alpha(t, z)
        return (z - a.sqrt() * x0) / (1 - a).sqrt().clamp_min(1e-8)

    def step(self, x0, eps, t: int, t_prev: int, eta: float = 0.0, generators=None):
        """DDIM update z_t -> z_{t_prev} (eta=0 deterministic, eta=1 DDPM-like ancestral)."""
        a, a_prev = self.alpha(t, x0), self.alpha(t_prev, x0)
        sigma = eta * ((1 - a_prev) / (1 - a)).sqrt() * (1 - a / a_prev).sqrt()
        z_prev = a_prev.sqrt() * x0 + (1 - a_prev - sigma ** 2).clamp_min(0).sqrt() * eps
        if eta > 0 and t_prev >= 0:
            z_prev = z_prev + sigma * per_sample_noise(x0.shape, generators, x0.device, x0.dtype)
        return z_prev

    def add_noise(self, x0, noise, t: int):
        a = self.alpha(t, x0)
        return a.sqrt() * x0 + (1 - a).sqrt() * noise


def per_sample_noise(shape, generators, device, dtype):
    """Gaussian noise with one CPU generator per sample (so results do not depend on batching)."""
    if generators is None:
        return torch.randn(shape, device=device, dtype=dtype)
    return torch.stack([torch.randn(shape[1:], generator=g) for g in generators]).to(device, dtype)


def generators_for(seeds) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(int(s)) for s in seeds]
