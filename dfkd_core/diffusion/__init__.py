"""Diffusion backbones behind one interface (pixel UNet, latent LDM, Stable Diffusion), their
loading, the schedule maths and the demo prior's training. Names are imported on first use,
so a light submodule (prompts) does not pull in torch and diffusers."""

from importlib import import_module

_PUBLIC = {
    "load_backbone": "loading", "load_backbone_cached": "loading", "weights_digest": "loading",
    "PixelBackbone": "pixel", "LatentBackbone": "latent", "LdmBackbone": "ldm", "NoiseSchedule": "schedule",
    "generators_for": "schedule", "per_sample_noise": "schedule", "CLASS_PROMPT": "prompts", "PLAIN_PROMPT": "prompts",
}
__all__ = list(_PUBLIC)


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_PUBLIC[name]}"), name)
