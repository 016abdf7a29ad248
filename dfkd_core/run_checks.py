"""A whole run config checked before any work: every stage's settings (names with "did you
mean", types, finite numbers, ranges), the order rules between stages (distill needs images
before it, ...), and the files and datasets the run will read (a dataset is downloaded now
when --download is given). The stages read their settings again when they run; this module
makes sure they will not fail on a setting after hours of generation."""

from dataclasses import fields
from pathlib import Path

from .errors import DfkdError
from .settings import check_types, integer, number, text

TOP_KEYS = ("name", "description", "teacher", "device", "seed", "stages")
WEIGHT_SUFFIXES = (".pth", ".pt", ".safetensors", ".json", ".bin", ".ckpt")


def _local_file(value: str, what: str, where: str):
    """A source that names a local file (a weights suffix, or a path starting with / or .) must exist."""
    path = Path(value).expanduser()
    looks_local = value.startswith(("/", "./", "../", "~")) or path.suffix.lower() in WEIGHT_SUFFIXES
    if looks_local and not path.exists():
        raise DfkdError(f"{where}: {what} '{value}' does not exist (looked for {path.resolve()}).")


def check_teacher(spec, where: str):
    """The teacher's declaration (TeacherSpec: keys, numbers) and, for a local file, that it exists."""
    from .teacher_spec import TeacherSpec
    source = TeacherSpec.from_config(spec, f"{where}: teacher").source
    if source != "demo":
        _local_file(source, "teacher file", where)


def check_device(name, where: str) -> str:
    import torch
    name = text(name, "device", where)
    if name != "auto" and name.split(":")[0] not in ("cpu", "cuda", "mps"):
        raise DfkdError(f"{where}: device must be auto, cpu, cuda (or cuda:N) or mps, got '{name}'.")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DfkdError(f"{where}: device '{name}' asked for, but this machine has no usable CUDA GPU "
                        "(torch.cuda.is_available() is false). Pass --device cpu (slow) or auto.")
    if name == "mps" and not torch.backends.mps.is_available():
        raise DfkdError(f"{where}: device 'mps' asked for, but this machine has none. Pass --device cpu or auto.")
    return name


class Plan:
    """What the stages before the one being checked leave behind, and what the run will read."""

    def __init__(self, data_dir=None, download=False):
        self.data_dir, self.download = data_dir, download
        self.images = self.real = False
        self.datasets: list[tuple[str, str, object, bool, str]] = []  # name, split, root, download, where

    def dataset(self, settings: dict, name_key: str, split: str, where: str):
        self.datasets.append((text(settings[name_key], name_key, where), split,
                              settings.get("data_dir") or self.data_dir,
                              bool(settings.get("download", self.download)), where))


def check_run(cfg: dict, where: str = "run config", data_dir=None, download: bool = False):
    """Raises DfkdError at the first problem of the whole config."""
    from .pipeline import stages_of, validate_config
    from .stage_checks import CHECKS
    validate_config(cfg, where)
    integer(cfg.get("seed", 0), "seed", where, low=0)
    check_device(cfg.get("device", "auto"), where)
    check_teacher(cfg.get("teacher", "demo"), where)
    plan = Plan(data_dir, download)
    for i, (name, settings) in enumerate(stages_of(cfg), 1):
        at = f"{where}, stage {i} '{name}'"
        try:
            CHECKS[name](settings, plan, at, cfg)
        except DfkdError as e:  # a stage's own dataclass does not know where it sits in the run
            raise e if str(e).startswith(at) else DfkdError(f"{at}: {e}") from None
    from .data.datasets import check_dataset
    for name, split, root, fetch, at in plan.datasets:
        try:
            check_dataset(name, split, root, fetch)
        except DfkdError as e:
            raise DfkdError(f"{at}: {e}")


def check_dataclass(cls, settings: dict, where: str, **ranges):
    """cls(**settings) with its types checked; ranges: name=(low, high) inclusive (None: open)."""
    try:
        obj = cls(**{k: v for k, v in settings.items() if k in {f.name for f in fields(cls)}})
    except TypeError as e:
        raise DfkdError(f"{where}: {e}.")
    check_types(obj, where)
    for name, (low, high) in ranges.items():
        number(getattr(obj, name), name, where, low=low, high=high)
    return obj


def check_against_teacher(cfg: dict, teacher):
    """Cross-checks that need the loaded teacher: an eval set with the teacher's class count."""
    from .data.datasets import class_count
    from .pipeline import stages_of
    for i, (name, settings) in enumerate(stages_of(cfg), 1):
        if name == "distill" and settings.get("eval"):
            n = class_count(settings["eval"], settings.get("eval_split", "test"))
            if n is not None and n != teacher.num_classes:
                raise DfkdError(f"stage {i} 'distill': the eval set {settings['eval']} has {n} classes but the "
                                f"teacher has {teacher.num_classes}; evaluate on the teacher's own test set.")
