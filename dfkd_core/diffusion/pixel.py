"""Pixel-space backbone: a diffusers UNet2DModel (e.g. google/ddpm-cifar10-32, our demo prior)."""


from dfkd_core.runtime.frozen import frozen

from .base import Backbone
from .schedule import NoiseSchedule


class PixelBackbone(Backbone):
    def __init__(self, unet, scheduler_config: dict, source: str = ""):
        self.unet = frozen(unet)
        self.schedule = NoiseSchedule(scheduler_config)
        self.source = source
        cfg = unet.config
        size = cfg.sample_size if isinstance(cfg.sample_size, int) else cfg.sample_size[0]
        self.image_channels, self.image_size = cfg.in_channels, size

    def latent_shape(self) -> tuple:
        return (self.image_channels, self.image_size, self.image_size)

    def conditioning(self, targets, class_names, prompt=None):
        return None  # unconditional: only the teacher steers it

    def model_output(self, z, t: int, cond=None):
        return self.unet(z, t).sample

    def decode(self, x0, clamp: bool = True):
        """Model space [-1, 1] -> images in [0, 1] (unclamped for guidance: a clamp has no gradient)."""
        images = (x0.float() + 1) / 2
        return images.clamp(0, 1) if clamp else images

    def encode(self, images):
        return (images.to(self.device, self.dtype) * 2 - 1)

    def to(self, device=None, dtype=None):
        # dtype only when asked: diffusers warns at every to(dtype=...), even None (weights load in it)
        self.unet.to(device=device, **({} if dtype is None else {"dtype": dtype}))
        return self
