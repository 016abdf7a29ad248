"""Pipeline stage `fast_dfkd`: {per_class, seed, and FastDFKDConfig's fields}. Writes
per_class * K images to the stage folder's store, one episode per synthesis_batch_size
images, and resumes exactly where it stopped (source.py). `cmi` runs through the same
function with its own config and source (dfkd_core.cmi.stage)."""

from .. import distributed
from ..errors import DfkdError
from ..settings import check_keys
from ..store import SampleStore
from .config import FastDFKDConfig, field_names
from .source import FastDFKD


def config_from(settings: dict, where: str = "Stage 'fast_dfkd'", config_class=FastDFKDConfig):
    fields = field_names(config_class)
    check_keys(settings, fields | {"per_class", "seed"}, where)
    try:
        cfg = config_class(**{k: v for k, v in settings.items() if k in fields})
    except TypeError as e:
        raise DfkdError(f"{where}: {e}.")
    return cfg.validate(where)


def stage(settings: dict, ctx, name: str = "fast_dfkd", config_class=FastDFKDConfig, source_class=FastDFKD):
    from ..stages import write_stage
    cfg = config_from(settings, f"Stage '{name}'", config_class)
    if distributed.world()[1] > 1:
        raise DfkdError(f"Stage '{name}': its episodes follow one another (each starts from what the last one "
                        "left); run it in one process, not under torchrun / accelerate launch.")
    source = source_class(ctx.teacher, cfg, int(settings.get("per_class", 100)),
                          int(settings.get("seed", ctx.config.get("seed", 0))), ctx.stage_dir)
    keys = source.plan()
    source.resume(SampleStore(ctx.stage_dir), keys)
    write_stage(ctx, name, source, keys, batch_size=cfg.synthesis_batch_size)
    ctx.results[f"{name}_episodes"] = source.synth.episodes
