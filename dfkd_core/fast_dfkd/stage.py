"""Pipeline stage `fast_dfkd`: {per_class, seed, and FastDFKDConfig's fields}. Writes
per_class * K images to the stage folder's store, one episode per synthesis_batch_size
images, and resumes exactly where it stopped (source.py)."""

from .. import distributed
from ..errors import DfkdError
from ..settings import check_keys
from ..store import SampleStore
from .config import FIELDS, FastDFKDConfig
from .source import FastDFKD

KEYS = FIELDS | {"per_class", "seed"}


def config_from(settings: dict, where: str = "Stage 'fast_dfkd'") -> FastDFKDConfig:
    check_keys(settings, KEYS, where)
    try:
        cfg = FastDFKDConfig(**{k: v for k, v in settings.items() if k in FIELDS})
    except TypeError as e:
        raise DfkdError(f"{where}: {e}.")
    return cfg.validate(where)


def stage(settings: dict, ctx):
    from ..stages import write_stage
    cfg = config_from(settings)
    if distributed.world()[1] > 1:
        raise DfkdError("Stage 'fast_dfkd': its episodes follow one another (each starts from the last one's "
                        "meta-update); run it in one process, not under torchrun / accelerate launch.")
    source = FastDFKD(ctx.teacher, cfg, int(settings.get("per_class", 100)),
                      int(settings.get("seed", ctx.config.get("seed", 0))), ctx.stage_dir)
    keys = source.plan()
    source.resume(SampleStore(ctx.stage_dir), keys)
    write_stage(ctx, "fast_dfkd", source, keys, batch_size=cfg.synthesis_batch_size)
    ctx.results["fast_dfkd_episodes"] = source.synth.episodes
