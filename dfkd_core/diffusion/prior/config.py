"""Settings and model builders of the latent prior, and its saved layout.

Saved as diffusers' LDMPipeline folder (model_index.json, vqvae/, unet/, scheduler/), so
`DiffusionPipeline.from_pretrained(folder)` samples it with diffusers alone. The `vqvae`
part is an AutoencoderKL: LDMPipeline only divides by its scaling_factor and decodes,
which both autoencoders do alike (diffusers logs that it expected a VQModel)."""

from dataclasses import asdict, dataclass

from diffusers import AutoencoderKL, DDIMScheduler, LDMPipeline, UNet2DModel


@dataclass
class LatentPriorConfig:
    # the autoencoder (trained first)
    ae_steps: int = 4_000
    ae_batch_size: int = 64
    ae_lr: float = 1e-3
    ae_channels: tuple = (16, 32, 64)  # three levels: 32x32 -> 8x8
    latent_channels: int = 4
    kl_weight: float = 1e-6  # as Stable Diffusion's VAE: the latent is barely regularised
    # the denoiser on the scaled latents
    steps: int = 10_000
    batch_size: int = 128
    lr: float = 6e-4
    channels: tuple = (64, 128, 128)
    layers_per_block: int = 2
    attention: bool = True  # self-attention at 4x4
    ema: float = 0.9995
    warmup: int = 500
    seed: int = 0
    save_every: int = 250

    def plain(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def make_autoencoder(cfg: LatentPriorConfig, channels: int = 1, size: int = 32) -> AutoencoderKL:
    n = len(cfg.ae_channels)
    return AutoencoderKL(in_channels=channels, out_channels=channels, sample_size=size,
                         down_block_types=("DownEncoderBlock2D",) * n, up_block_types=("UpDecoderBlock2D",) * n,
                         block_out_channels=tuple(cfg.ae_channels), layers_per_block=1,
                         latent_channels=cfg.latent_channels, norm_num_groups=8, mid_block_add_attention=False)


def make_unet(cfg: LatentPriorConfig, latent_size: int) -> UNet2DModel:
    n = len(cfg.channels)
    down, up = ["DownBlock2D"] * n, ["UpBlock2D"] * n
    if cfg.attention:  # at the second-lowest resolution
        down[-2], up[1] = "AttnDownBlock2D", "AttnUpBlock2D"
    return UNet2DModel(sample_size=latent_size, in_channels=cfg.latent_channels, out_channels=cfg.latent_channels,
                       layers_per_block=cfg.layers_per_block, block_out_channels=tuple(cfg.channels),
                       down_block_types=tuple(down), up_block_types=tuple(up), norm_num_groups=32)


def make_scheduler() -> DDIMScheduler:
    """Latent diffusion's schedule (LDM, Stable Diffusion): scaled-linear betas, no clipping
    of the predicted latent (latents are not bounded as pixels are)."""
    return DDIMScheduler(num_train_timesteps=1000, beta_schedule="scaled_linear", beta_start=0.00085,
                         beta_end=0.012, clip_sample=False, set_alpha_to_one=False, steps_offset=1,
                         prediction_type="epsilon")


def save_latent_prior(autoencoder: AutoencoderKL, unet: UNet2DModel, out_dir):
    LDMPipeline(vqvae=autoencoder, unet=unet, scheduler=make_scheduler()).save_pretrained(
        str(out_dir), safe_serialization=True)
