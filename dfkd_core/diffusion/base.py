"""What pixel and latent backbones share: device and dtype follow the denoiser."""


class Backbone:
    is_latent = False

    @property
    def device(self):
        return self.unet.device

    @property
    def dtype(self):
        return self.unet.dtype
