"""Pipeline stage `fast_dfkd`: per_class * K images written to the stage folder's store, one
episode per synthesis_batch_size images, resumed exactly where it stopped (source.py). `cmi`
runs through the same function with its own config and source (dfkd_core.methods.cmi.stage)."""

from dfkd_core.errors import DfkdError
from dfkd_core.methods.writer import write_stage
from dfkd_core.runtime import distributed
from dfkd_core.settings import base_of
from dfkd_core.stage import Stage
from dfkd_core.store import SampleStore

from .config import FastDFKDConfig, FastDFKDSettings
from .source import FastDFKD


def run_generator_stage(s, ctx, config_class=FastDFKDConfig, source_class=FastDFKD):
    if distributed.world()[1] > 1:
        raise DfkdError(f"Stage '{ctx.stage_label}': its episodes follow one another (each starts from what the last "
                        "one left); run it in one process, not under torchrun / accelerate launch.")
    cfg = base_of(s, config_class)
    source = source_class(ctx.teacher, cfg, s.per_class, s.seed, ctx.stage_dir)
    keys = source.plan()
    source.resume(SampleStore(ctx.stage_dir), keys)
    write_stage(ctx, source, keys, batch_size=cfg.synthesis_batch_size)
    ctx.results[f"{ctx.stage_label}_episodes"] = source.synth.episodes


FAST_DFKD = Stage("fast_dfkd", FastDFKDSettings, run_generator_stage,
                  "a generator meta-learned across episodes (Fast-DFKD)", makes_images=True)
