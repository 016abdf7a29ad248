"""DDA's settings (diverse diffusion augmentation: SDEdit-style variations of stored samples,
kept when their embedding stays close to their source's). Light: no torch."""

from dataclasses import asdict, dataclass

from dfkd_core.methods.diffdfkd.config import MAX_BATCH, MAX_STEPS, MODES, GuidanceConfig
from dfkd_core.settings import check_types, setting


@dataclass
class DDAConfig:
    variations: int = setting(2, "variations made of each source", low=1, high=64)
    strength: float = setting(0.5, "SDEdit strength s: 0 keeps the source, 1 starts from (almost) pure noise", low=0,
                              low_open=True, high=1)
    steps: int = setting(25, "DDIM steps of a whole (s = 1) trajectory", low=1, high=MAX_STEPS)
    guidance: float = setting(0.0, "teacher-guidance strength while denoising (0: plain SDEdit)", low=0, high=100)
    mode: str = setting("x0", "the guidance gradient: x0 (MPGD-style) or full (through the denoiser)", choices=MODES)
    eta: float = setting(0.0, "0: DDIM, 1: ancestral sampling", low=0, high=1)
    seed: int = setting(0, "seed of the variations' noise", low=0, high=2 ** 48)
    batch_size: int = setting(16, "variations per batch", low=1, high=MAX_BATCH)

    def validate(self, where: str = "DDA settings"):
        check_types(self, where)

    def guidance_config(self) -> GuidanceConfig:
        # a variation starts from its source, not from fresh noise; its few guided steps each take a fresh gradient
        return GuidanceConfig(steps=self.steps, strength=self.guidance, mode=self.mode, eta=self.eta,
                              candidates=1, every=1)

    def identity(self) -> dict:
        """What makes a variation what it is (not how many, nor the batching)."""
        return {k: v for k, v in asdict(self).items() if k not in ("variations", "batch_size")}


@dataclass
class AugmentSettings(DDAConfig):
    """The pipeline stage `augment`: DDA's settings and the backbone that makes the variations."""
    backbone: str = setting("demo", "'demo', a diffusers folder, or a hub id")
