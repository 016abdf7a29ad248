"""The sampler's own DDIM update against diffusers' DDIMScheduler.step, with the same
injected noise, and its arithmetic at low precision (the schedule must not round
alpha-bar to the latent dtype: in bfloat16 it becomes 1.0 near the clean end)."""

import pytest
import torch
from diffusers import DDIMScheduler

from dfkd_core.diffusion.schedule import NoiseSchedule, generators_for, per_sample_noise

SHAPE = (3, 2, 4, 4)
SEEDS = [11, 12, 13]


def _config(prediction_type, clip_sample, spacing="leading", set_alpha_to_one=True):
    # leading + steps_offset=1 and set_alpha_to_one=False is Stable Diffusion's scheduler
    return {"num_train_timesteps": 1000, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
            "beta_end": 0.012, "prediction_type": prediction_type, "clip_sample": clip_sample,
            "timestep_spacing": spacing, "steps_offset": 1 if spacing == "leading" else 0,
            "set_alpha_to_one": set_alpha_to_one}


def _trajectory_inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(SHAPE, generator=g), torch.randn(SHAPE, generator=g)


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction", "sample"])
@pytest.mark.parametrize("clip_sample", [False, True])
@pytest.mark.parametrize("eta", [0.0, 1.0])
@pytest.mark.parametrize("spacing,set_alpha_to_one", [("leading", False), ("trailing", True)])
def test_every_step_matches_diffusers(prediction_type, clip_sample, eta, spacing, set_alpha_to_one):
    config = _config(prediction_type, clip_sample, spacing, set_alpha_to_one)
    ours, theirs = NoiseSchedule(config), DDIMScheduler.from_config(config)
    steps = 10
    timesteps = ours.timesteps(steps)
    theirs.set_timesteps(steps)
    assert timesteps == [int(t) for t in theirs.timesteps]
    for i, t in enumerate(timesteps):  # every step, the last one (to the final alpha) included
        t_prev = timesteps[i + 1] if i + 1 < steps else -1
        sample, model_output = _trajectory_inputs(i)
        noise = per_sample_noise(SHAPE, generators_for(SEEDS), "cpu", torch.float32)
        expected = theirs.step(model_output, t, sample, eta=eta, use_clipped_model_output=clip_sample,
                               variance_noise=noise).prev_sample
        eps, x0 = ours.split(model_output, sample, t)
        got = ours.step(x0, eps, t, t_prev, eta, generators_for(SEEDS))
        # diffusers keeps alpha-bar in float32, we in float64; "sample" prediction divides by
        # sqrt(1 - alpha-bar) (~0.03 at t=1), which magnifies that rounding
        assert torch.allclose(got, expected, rtol=1e-4, atol=1e-4), (t, (got - expected).abs().max())


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
def test_add_noise_matches_diffusers(prediction_type):
    config = _config(prediction_type, False)
    x0, noise = _trajectory_inputs()
    for t in (1, 500, 999):
        expected = DDIMScheduler.from_config(config).add_noise(x0, noise, torch.tensor([t]))
        assert torch.allclose(NoiseSchedule(config).add_noise(x0, noise, t), expected, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_low_precision_latents_give_finite_steps_close_to_float64(dtype, eta):
    """The whole trajectory of a fixed 'model' in the latent dtype: every step finite, and the
    result within the latent dtype's rounding of the same steps in float64."""
    config = _config("epsilon", True, "leading", True)
    sched = NoiseSchedule(config)
    timesteps = sched.timesteps(25)
    z_low, z_ref = [torch.randn(SHAPE, generator=torch.Generator().manual_seed(0))] * 2
    z_low, z_ref = z_low.to(dtype), z_ref.double()
    for i, t in enumerate(timesteps):
        t_prev = timesteps[i + 1] if i + 1 < len(timesteps) else -1
        out = 0.5 * z_ref.float()  # the same network output for both
        eps, x0 = sched.split(out.to(dtype), z_low, t)
        z_low = sched.step(x0, eps, t, t_prev, eta, generators_for(SEEDS))
        eps, x0 = sched.split(out.double(), z_ref, t)
        z_ref = sched.step(x0, eps, t, t_prev, eta, generators_for(SEEDS))
        assert z_low.dtype == dtype and torch.isfinite(z_low).all(), (t, z_low)
    assert (z_low.double() - z_ref).abs().max() < 0.05
