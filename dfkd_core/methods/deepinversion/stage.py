"""Pipeline stage `deepinversion`: per_class images of every class, DeepInversionConfig's settings."""

from dfkd_core.methods.writer import write_stage
from dfkd_core.settings import base_of
from dfkd_core.stage import Stage

from .config import DeepInversionConfig, DeepInversionSettings
from .synthesis import DeepInversion


def run(s: DeepInversionSettings, ctx):
    cfg = base_of(s, DeepInversionConfig)
    source = DeepInversion(ctx.teacher, cfg, s.per_class, s.seed)
    write_stage(ctx, source, source.plan(), batch_size=cfg.batch_size)


DEEPINVERSION = Stage("deepinversion", DeepInversionSettings, run, "images optimised from noise (DeepInversion)",
                      makes_images=True)
