"""The demo kit's latent diffusion prior, Stable Diffusion at the demo's size: a small
autoencoder (1x32x32 <-> 4x8x8, KL-regularised, latents scaled to unit variance) and an
unconditional UNet on the latents, saved as a diffusers LDMPipeline folder."""

from .config import LatentPriorConfig, make_autoencoder, make_scheduler, make_unet, save_latent_prior
from .train import train_latent_prior

__all__ = ["LatentPriorConfig", "make_autoencoder", "make_unet", "make_scheduler", "save_latent_prior",
           "train_latent_prior"]
