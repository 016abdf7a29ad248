"""Unconditional latent backbone: diffusers' LDMPipeline layout (model_index.json with
vqvae/, unet/, scheduler/), a UNet2DModel on the latents of an autoencoder (AutoencoderKL
or VQModel) whose scaling_factor brings the latents to unit variance, as Stable Diffusion's.
The demo kit's prior has this layout (dfkd_core/diffusion/prior/), so diffusers alone
samples it too: DiffusionPipeline.from_pretrained(folder)()."""

from dfkd_core.runtime.frozen import frozen

from .base import Backbone
from .schedule import NoiseSchedule


class LdmBackbone(Backbone):
    is_latent = True

    def __init__(self, unet, vae, scheduler_config: dict, source: str = ""):
        self.unet, self.vae = frozen(unet), frozen(vae)
        self.schedule = NoiseSchedule(scheduler_config)
        self.source = source
        self.scale_factor = 2 ** (len(vae.config.block_out_channels) - 1)
        self.image_size = unet.config.sample_size * self.scale_factor
        self.image_channels = vae.config.out_channels
        self.gradient_checkpointing = False

    def latent_shape(self) -> tuple:
        size = self.unet.config.sample_size
        return (self.unet.config.in_channels, size, size)

    def conditioning(self, targets, class_names, prompt=None):
        return None  # unconditional: only the teacher steers it

    def model_output(self, z, t: int, cond=None):
        return self.unet(z, t).sample

    def decode(self, x0, clamp: bool = True):
        """Latents -> images in [0, 1] (unclamped for guidance: a clamp has no gradient)."""
        images = (self.vae.decode(x0.to(self.vae.dtype) / self.vae.config.scaling_factor).sample.float() + 1) / 2
        return images.clamp(0, 1) if clamp else images

    def encode(self, images):
        """Images in [0, 1] -> scaled latents (the posterior's mean)."""
        x = images.to(self.device, self.vae.dtype) * 2 - 1
        if x.shape[1] != self.image_channels:  # colour to grey (luma) or grey to colour, as the autoencoder takes
            x = x.mean(1, keepdim=True).expand(-1, self.image_channels, -1, -1)
        encoded = self.vae.encode(x)
        latents = encoded.latent_dist.mean if hasattr(encoded, "latent_dist") else encoded.latents
        return latents * self.vae.config.scaling_factor

    def to(self, device=None, dtype=None):
        for m in (self.unet, self.vae):
            # dtype only when asked: diffusers warns at every to(dtype=...), even None (weights load in it)
            m.to(device=device, **({} if dtype is None else {"dtype": dtype}))
        return self
