"""Image-variation backbone: the lambdalabs/sd-image-variations-diffusers layout, a Stable
Diffusion UNet conditioned on the CLIP image embedding (B, 1, D) of a source image
instead of text (image_encoder/ = CLIPVisionModelWithProjection, feature_extractor/ =
CLIPImageProcessor). Its unconditional embedding is zeros, as in diffusers' pipeline."""

from pathlib import Path

import torch
from huggingface_hub import snapshot_download

from dfkd_core.models.clip_image import ClipImageEncoder

from .latent import LatentBackbone
from .parts import load_part


class ImageVariationBackbone(LatentBackbone):
    def __init__(self, unet, vae, encoder: ClipImageEncoder, scheduler_config: dict, source: str = "",
                 guidance_scale: float = 3.0, image_size: int | None = None):
        self._set_up(unet, vae, scheduler_config, source, guidance_scale, image_size)
        self.encoder = encoder

    def _null(self, n: int) -> torch.Tensor:
        dim = self.encoder.model.config.projection_dim
        return torch.zeros(n, 1, dim, device=self.device, dtype=self.dtype)

    def conditioning(self, targets, class_names, prompt=None):
        """Without source images (plain generation): the unconditional embedding."""
        return self._null(len(targets)), None

    def image_conditioning(self, images: torch.Tensor):
        """Conditioning on each source image (B, C, H, W in [0, 1]), with zeros for CFG."""
        emb = self.encoder(images).unsqueeze(1).to(self.device, self.dtype)
        return emb, (self._null(len(emb)) if self.guidance_scale > 1 else None)

    def to(self, device=None, dtype=None):
        for m in (self.unet, self.vae, self.encoder.model):
            # dtype only when asked: diffusers warns at every to(dtype=...), even None (weights load in it)
            m.to(device=device, **({} if dtype is None else {"dtype": dtype}))
        return self


def load_image_variation(source: str, scheduler_config: dict, device, dtype, local_files_only: bool,
                         guidance_scale: float = 3.0) -> ImageVariationBackbone:
    # heavy: keeps diffusers' models off importing diffusion.variation
    from diffusers import AutoencoderKL, UNet2DConditionModel

    if not Path(source).is_dir():  # a hub id: its files in the local cache (or downloaded, if allowed)
        source = snapshot_download(source, local_files_only=local_files_only)
    kw = {"local_files_only": local_files_only, "torch_dtype": dtype}
    unet = load_part(UNet2DConditionModel, source, "unet", **kw)
    vae = load_part(AutoencoderKL, source, "vae", **kw)
    encoder = ClipImageEncoder.from_folder(source, dtype=dtype, local_files_only=local_files_only)
    return ImageVariationBackbone(unet, vae, encoder, scheduler_config, source, guidance_scale).to(device)
