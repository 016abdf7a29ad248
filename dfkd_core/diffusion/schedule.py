"""The sampler's own DDIM/DDPM update, written from x0 and eps so that guidance can edit
either, with per-sample random generators (identical samples for identical seeds,
whatever the batch). Timesteps and the noise schedule come from the model's diffusers
scheduler config, so any step count and its timestep spacing (e.g. sd-turbo's
'trailing') are honoured.

Precision: the coefficients are float64 numbers and the tensor arithmetic runs in
float32 whatever the latents' dtype; only the result is cast back to it. In bfloat16
alpha-bar near the clean end rounds to 1.0, and 1 - alpha-bar to 0 (sigma = 0/0: NaN).

Parity with diffusers' DDIMScheduler.step (tests/test_schedule_parity.py): the same
update, with eps re-derived from a clipped x0 (its use_clipped_model_output=True), the
last step going to the config's final alpha-bar (set_alpha_to_one), and the previous
timestep taken from the timestep list (diffusers subtracts train_steps // steps, which
differs only for 'linspace' spacing)."""

import math

import torch
from diffusers import DDIMScheduler


class NoiseSchedule:
    def __init__(self, scheduler_config: dict, prediction_type: str | None = None):
        self._scheduler = DDIMScheduler.from_config(dict(scheduler_config))
        self.alphas_cumprod = self._scheduler.alphas_cumprod.double()
        self.final_alpha = float(self._scheduler.final_alpha_cumprod)
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

    def alpha_value(self, t: int) -> float:
        """Cumulative alpha at t as a float64 number; t < 0: the end of the trajectory."""
        return float(self.alphas_cumprod[t]) if t >= 0 else self.final_alpha

    def alpha(self, t: int, like: torch.Tensor) -> torch.Tensor:
        """alpha_value(t) as a 0-d float32 tensor on like's device (never in a lower precision)."""
        return torch.tensor(self.alpha_value(t), dtype=torch.float32, device=like.device)

    def split(self, model_output: torch.Tensor, z: torch.Tensor, t: int):
        """(eps, x0) from the network output at noisy sample z, timestep t, in z's dtype."""
        a = self.alpha_value(t)
        ra, rb = math.sqrt(a), math.sqrt(1 - a)
        out, zf = model_output.float(), z.float()
        if self.prediction_type == "epsilon":
            eps, x0 = out, (zf - rb * out) / ra
        elif self.prediction_type == "v_prediction":
            x0, eps = ra * zf - rb * out, ra * out + rb * zf
        else:
            x0, eps = out, (zf - ra * out) / rb
        if self.clip_range is not None:
            x0 = x0.clamp(-self.clip_range, self.clip_range)
            eps = (zf - ra * x0) / rb
        return eps.to(z.dtype), x0.to(z.dtype)

    def step(self, x0, eps, t: int, t_prev: int, eta: float = 0.0, generators=None):
        """DDIM update z_t -> z_{t_prev} (eta=0 deterministic, eta=1 DDPM-like ancestral), in x0's dtype."""
        a, a_prev = self.alpha_value(t), self.alpha_value(t_prev)
        sigma = eta * math.sqrt((1 - a_prev) / (1 - a) * (1 - a / a_prev))
        z_prev = math.sqrt(a_prev) * x0.float() + math.sqrt(max(0.0, 1 - a_prev - sigma ** 2)) * eps.float()
        if sigma > 0:  # at the last step only where the final alpha-bar is below 1, as diffusers
            z_prev = z_prev + sigma * per_sample_noise(x0.shape, generators, x0.device, torch.float32)
        return z_prev.to(x0.dtype)

    def add_noise(self, x0, noise, t: int):
        a = self.alpha_value(t)
        return (math.sqrt(a) * x0.float() + math.sqrt(1 - a) * noise.float()).to(x0.dtype)


def per_sample_noise(shape, generators, device, dtype):
    """Gaussian noise with one CPU generator per sample (so results do not depend on batching)."""
    if generators is None:
        return torch.randn(shape, device=device, dtype=dtype)
    return torch.stack([torch.randn(shape[1:], generator=g) for g in generators]).to(device, dtype)


def generators_for(seeds) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(int(s)) for s in seeds]
