"""Pipeline stage `cmi`: {per_class, seed, and CMIConfig's fields}; Fast-DFKD's stage with
CMI's config and source."""

from ..fast_dfkd import stage as fast_stage
from .config import CMIConfig
from .source import CMI


def config_from(settings: dict, where: str = "Stage 'cmi'") -> CMIConfig:
    return fast_stage.config_from(settings, where, CMIConfig)


def stage(settings: dict, ctx):
    fast_stage.stage(settings, ctx, "cmi", CMIConfig, CMI)
