"""What pixel and latent backbones share: device and dtype follow the denoiser."""


class Backbone:
    is_latent = False
    precision = "auto"  # "bf16": the denoiser runs under bfloat16 autocast (precision.py)

    @property
    def device(self):
        return self.unet.device

    @property
    def dtype(self):
        return self.unet.dtype
