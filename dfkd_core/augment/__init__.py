from .cutmix import CutMixConfig, latent_cutmix

__all__ = ["CutMixConfig", "latent_cutmix"]
