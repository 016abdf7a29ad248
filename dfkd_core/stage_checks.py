"""One settings check per pipeline stage, run by run_checks.check_run before any stage runs.
Each takes (settings, plan, where, run config), raises DfkdError at the first bad setting and
records in `plan` what the stage leaves for the next ones (images, real images) and which
datasets it will read. The allowed names come from the dataclasses the stages build."""

from dataclasses import fields

from .errors import DfkdError
from .run_checks import _local_file, check_dataclass
from .settings import boolean, check_keys, check_types, integer, number, text

NO_IMAGES = ("no images to learn from: put a source stage (generate, unguided, noise, real, samples, shards, "
             "deepinversion, hidfd, fast_dfkd, cmi) before it.")
DISTILL_EXTRA = ("student", "eval", "eval_split", "eval_subset", "data_dir", "download", "real_repeat", "onnx")


def _names(cls) -> set:
    return {f.name for f in fields(cls)}


def generate(settings, plan, where, cfg, unguided=False):
    from .generate import GenerateConfig
    from .guidance import GuidanceConfig
    check_keys(settings, _names(GenerateConfig) - {"out", "teacher", "device"}, where)
    g = check_keys(settings.get("guidance") or {}, _names(GuidanceConfig), f"{where}: guidance")
    if unguided and g.get("strength", 0) != 0:
        raise DfkdError(f"{where}: samples without guidance: leave guidance.strength out (it is 0).")
    if g.get("cutmix") is not None:
        check_keys(g["cutmix"], {"at_steps", "alpha"}, f"{where}: guidance.cutmix")
    try:
        gen = GenerateConfig.from_dict({"seed": cfg.get("seed", 0), **settings, "out": "."})
    except TypeError as e:
        raise DfkdError(f"{where}: {e}.")
    check_types(gen, where)
    integer(gen.per_class, "per_class", where, low=1)
    integer(gen.batch_size, "batch_size", where, low=1)
    check_types(gen.guidance, f"{where}: guidance")
    for value in gen.guidance.window:
        number(value, "guidance.window", where, low=0, high=1)
    if gen.guidance.cutmix is not None:
        check_types(gen.guidance.cutmix, f"{where}: guidance.cutmix")
        for step in gen.guidance.cutmix.at_steps:
            integer(step, "guidance.cutmix.at_steps", where, low=0)
    gen.guidance.validate()
    _local_file(text(gen.backbone, "backbone", where), "backbone", where)
    plan.images = True


def unguided(settings, plan, where, cfg):
    generate(settings, plan, where, cfg, unguided=True)


def noise(settings, plan, where, cfg):
    check_keys(settings, {"count", "mean", "std", "seed"}, where)
    integer(settings.get("count", 1000), "count", where, low=1)
    number(settings.get("mean", 0.5), "mean", where, low=0, high=1)
    number(settings.get("std", 0.25), "std", where, low=0)
    integer(settings.get("seed", 0), "seed", where, low=0)
    plan.images = True


def real(settings, plan, where, cfg):
    check_keys(settings, {"dataset", "split", "count", "seed", "data_dir"}, where)
    if "dataset" not in settings:
        raise DfkdError(f"{where}: needs `dataset:` (e.g. fashion-mnist) and optionally split, count, seed.")
    if settings.get("count") is not None:
        integer(settings["count"], "count", where, low=1)
    integer(settings.get("seed", 0), "seed", where, low=0)
    plan.dataset(settings, "dataset", text(settings.get("split", "train"), "split", where), where)
    plan.images = plan.real = True


def samples(settings, plan, where, cfg):
    from .sampling import open_sample_set
    check_keys(settings, {"path"}, where)
    try:
        open_sample_set(text(settings.get("path", ""), "path", where))
    except DfkdError as e:
        raise DfkdError(f"{where}: {e}")
    plan.images = True


def shards(settings, plan, where, cfg):
    from .data.shard_stream import DEFAULT_SHUFFLE, MAX_SHUFFLE, ShardStream
    check_keys(settings, {"path", "shuffle"}, where)
    if [name for st in cfg["stages"] for name in st] != ["shards", "distill"]:
        raise DfkdError(f"{where}: shards stream straight into distill: the stages must be [shards, distill] "
                        "(to augment, filter or mix in real images, use the store the shards came from).")
    path = text(settings.get("path", ""), "path", where)  # not empty
    integer(settings.get("shuffle", DEFAULT_SHUFFLE), "shuffle", where, low=0, high=MAX_SHUFFLE)
    stream = ShardStream(path, settings.get("shuffle", DEFAULT_SHUFFLE))  # every shard's headers: fields, counts
    stream.rank_share(0)  # under torchrun / accelerate: enough shards for every process
    plan.images = True


def deepinversion(settings, plan, where, cfg):
    from .deepinversion import DeepInversionConfig
    check_keys(settings, _names(DeepInversionConfig) | {"per_class", "seed"}, where)
    check_dataclass(DeepInversionConfig, settings, where, iterations=(1, None), lr=(0, None), oh=(0, None),
                    bn=(0, None), tv=(0, None), jitter=(0, None), batch_size=(1, None))
    integer(settings.get("per_class", 100), "per_class", where, low=1)
    integer(settings.get("seed", 0), "seed", where, low=0)
    plan.images = True


def fast_dfkd(settings, plan, where, cfg):
    from .fast_dfkd.stage import config_from
    _generator_stage(settings, plan, where, config_from)


def cmi(settings, plan, where, cfg):
    from .cmi.stage import config_from
    _generator_stage(settings, plan, where, config_from)


def _generator_stage(settings, plan, where, config_from):
    config_from(settings, where)
    integer(settings.get("per_class", 100), "per_class", where, low=1)
    integer(settings.get("seed", 0), "seed", where, low=0)
    plan.images = True


def hidfd(settings, plan, where, cfg):
    from .gan.config import GANConfig
    from .gan.stage import REAL_KEYS
    check_keys(settings, {"real", "gan", "count", "seed", "batch_size"}, where)
    real_settings = settings.get("real") or {}
    check_keys(real_settings, REAL_KEYS, f"{where}: real")
    for key in ("count", "per_class"):
        if real_settings.get(key) is not None:
            integer(real_settings[key], f"real.{key}", where, low=1)
    integer(settings.get("count", 1000), "count", where, low=1)
    integer(settings.get("batch_size", 250), "batch_size", where, low=1)
    gan = check_keys(settings.get("gan") or {}, _names(GANConfig), f"{where}: gan")
    check_dataclass(GANConfig, {"seed": 0, **gan}, f"{where}: gan").validate()
    plan.images = plan.real = True


def augment(settings, plan, where, cfg):
    from .augment.dda import DDAConfig
    check_keys(settings, _names(DDAConfig) | {"backbone"}, where)
    if not plan.images:
        raise DfkdError(f"{where}: needs samples: put a source stage (e.g. generate) before it.")
    check_dataclass(DDAConfig, settings, where).validate()
    _local_file(text(settings.get("backbone", "demo"), "backbone", where), "backbone", where)


def filter(settings, plan, where, cfg):
    check_keys(settings, {"omega", "tau", "embedding", "clip_model", "batch_size"}, where)
    if not plan.images:
        raise DfkdError(f"{where}: needs samples: put a source stage (e.g. generate) before it.")
    number(settings.get("omega", 0.9), "omega", where, low=-1, high=1)
    number(settings.get("tau", 0.0), "tau", where, low=0, high=1)
    integer(settings.get("batch_size", 256), "batch_size", where, low=1)
    if settings.get("embedding", "teacher") not in ("teacher", "clip"):
        raise DfkdError(f"{where}: embedding must be 'teacher' or 'clip', got {settings['embedding']!r}.")


def distill(settings, plan, where, cfg):
    from .distill import DistillConfig
    from .models.zoo import canonical_arch
    check_keys(settings, _names(DistillConfig) | set(DISTILL_EXTRA), where)
    if not plan.images:
        raise DfkdError(f"{where}: {NO_IMAGES}")
    try:
        DistillConfig(**{k: v for k, v in settings.items() if k in _names(DistillConfig)})
    except (TypeError, DfkdError) as e:
        raise DfkdError(f"{where}: {str(e).removeprefix('distill settings: ')}")
    canonical_arch(text(settings.get("student", "wrn_16_1"), "student", where))
    repeat = integer(settings.get("real_repeat", 0), "real_repeat", where, low=0)
    if repeat and not plan.real:
        raise DfkdError(f"{where}: real_repeat is set but no stage before it collects real images (real or hidfd).")
    for key in ("onnx", "download"):
        if key in settings:
            boolean(settings[key], key, where)
    if settings.get("eval"):
        if settings.get("eval_subset") is not None:
            integer(settings["eval_subset"], "eval_subset", where, low=1)
        plan.dataset(settings, "eval", text(settings.get("eval_split", "test"), "eval_split", where), where)


CHECKS = {"generate": generate, "unguided": unguided, "noise": noise, "real": real, "samples": samples,
          "shards": shards,
          "deepinversion": deepinversion, "hidfd": hidfd, "fast_dfkd": fast_dfkd, "cmi": cmi, "augment": augment,
          "filter": filter, "distill": distill}
