"""Latent backbone: Stable Diffusion components (UNet2DConditionModel, AutoencoderKL, CLIP
text encoder + tokenizer) with classifier-free guidance and prompt templates; works for
few-step models such as sd-turbo (guidance_scale <= 1 disables CFG)."""

import torch

from dfkd_core.runtime.frozen import frozen

from .base import Backbone
from .prompts import CLASS_PROMPT, PLAIN_PROMPT
from .schedule import NoiseSchedule


class LatentBackbone(Backbone):
    is_latent = True

    def __init__(self, unet, vae, text_encoder, tokenizer, scheduler_config: dict, source: str = "",
                 guidance_scale: float = 7.5, image_size: int | None = None):
        self._set_up(unet, vae, scheduler_config, source, guidance_scale, image_size)
        self.text_encoder = text_encoder.eval().requires_grad_(False)
        self.tokenizer = tokenizer

    def _set_up(self, unet, vae, scheduler_config, source, guidance_scale, image_size):
        """What every VAE + conditioned-UNet backbone holds, whatever its conditioning."""
        self.unet = frozen(unet)
        self.vae = frozen(vae)
        self.schedule = NoiseSchedule(scheduler_config)
        self.source, self.guidance_scale = source, guidance_scale
        self.scale_factor = 2 ** (len(vae.config.block_out_channels) - 1)
        self.image_size = image_size or unet.config.sample_size * self.scale_factor
        self.image_channels = 3
        self.gradient_checkpointing = False

    def latent_shape(self) -> tuple:
        s = self.image_size // self.scale_factor
        return (self.unet.config.in_channels, s, s)

    def enable_gradient_checkpointing(self):
        """Trade compute for memory when the guidance gradient runs through UNet and VAE (GPU)."""
        for m in (self.unet, self.vae):
            if hasattr(m, "enable_gradient_checkpointing"):
                m.enable_gradient_checkpointing()
        self.gradient_checkpointing = True

    @torch.no_grad()
    def _embed(self, prompts: list[str]) -> torch.Tensor:
        tokens = self.tokenizer(prompts, padding="max_length", max_length=self.tokenizer.model_max_length,
                                truncation=True, return_tensors="pt").input_ids.to(self.device)
        return self.text_encoder(tokens)[0].to(self.dtype)

    def conditioning(self, targets, class_names, prompt: str | None = CLASS_PROMPT):
        """Text embeddings per sample: the template with each target's class name
        (`{class}`), or a fixed prompt; with the empty prompt's embedding for CFG."""
        prompt = prompt or PLAIN_PROMPT
        prompts = [prompt.replace("{class}", class_names[int(y)]) for y in targets]
        cond = self._embed(prompts)
        uncond = self._embed([""]).expand_as(cond) if self.guidance_scale > 1 else None
        return cond, uncond

    def model_output(self, z, t: int, cond):
        text, uncond = cond
        if uncond is None:
            return self.unet(z, t, encoder_hidden_states=text).sample
        out = self.unet(torch.cat([z, z]), t, encoder_hidden_states=torch.cat([uncond, text])).sample
        out_uncond, out_text = out.chunk(2)
        return out_uncond + self.guidance_scale * (out_text - out_uncond)

    def decode(self, x0, clamp: bool = True):
        sf = self.vae.config.scaling_factor
        images = (self.vae.decode(x0.to(self.vae.dtype) / sf).sample.float() + 1) / 2
        return images.clamp(0, 1) if clamp else images

    def encode(self, images):
        images = images.to(self.device, self.vae.dtype) * 2 - 1
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        return self.vae.encode(images).latent_dist.mean * self.vae.config.scaling_factor

    def to(self, device=None, dtype=None):
        for m in (self.unet, self.vae, self.text_encoder):
            # dtype only when asked: diffusers warns at every to(dtype=...), even None (weights load in it)
            m.to(device=device, **({} if dtype is None else {"dtype": dtype}))
        return self
