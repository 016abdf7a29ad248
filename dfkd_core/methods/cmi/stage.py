"""Pipeline stage `cmi`: Fast-DFKD's stage with CMI's config and source."""

from dfkd_core.methods.fast_dfkd.stage import run_generator_stage
from dfkd_core.stage import Stage

from .config import CMIConfig, CMISettings
from .source import CMI


def run(s: CMISettings, ctx):
    run_generator_stage(s, ctx, CMIConfig, CMI)


CMI_STAGE = Stage("cmi", CMISettings, run, "a fresh generator per batch with a contrastive loss (CMI)",
                  makes_images=True)
