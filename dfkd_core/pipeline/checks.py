"""A whole run config checked before any work: every stage's settings parsed once against
their declarations (names with "did you mean", types, finite numbers, ranges), the rules
between stages (a stage that works on images needs a source before it, ...), the memory a
stage's batch needs (memory.py), and the files and datasets the run will read (a dataset is
downloaded now when --download is given). The run then uses the parsed settings: a stage
cannot fail on a setting after hours of work."""

from pathlib import Path

import torch

from dfkd_core.data.datasets import check_dataset, class_count
from dfkd_core.errors import DfkdError
from dfkd_core.settings import integer, text
from dfkd_core.teacher.spec import TeacherSpec

from .config import stages_of, validate_config
from .memory import check_memory
from .stages import SOURCES, STAGES

WEIGHT_SUFFIXES = (".pth", ".pt", ".safetensors", ".json", ".bin", ".ckpt")


def check_teacher(spec, where: str):
    """The teacher's declaration (TeacherSpec: keys, numbers) and, for a local file, that it exists."""
    source = TeacherSpec.from_config(spec, f"{where}: teacher").source
    if source != "demo":
        Plan.local_file(source, "teacher file", where)


def check_device(name, where: str) -> str:
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

    def __init__(self, stage_names: list, data_dir=None, download=False):
        self.stage_names, self.data_dir, self.download = stage_names, data_dir, download
        self.images = self.real = False
        self.datasets: list[tuple[str, str, object, bool, str]] = []  # name, split, root, download, where

    def dataset(self, name: str, split: str, root, download, where: str):
        """A dataset the run will read (root, download None: the run's --data-dir, --download)."""
        self.datasets.append((text(name, "dataset", where), text(split, "split", where), root or self.data_dir,
                              self.download if download is None else bool(download), where))

    @staticmethod
    def local_file(value: str, what: str, where: str):
        """A source that names a local file (a weights suffix, or a path starting with / or .) must exist."""
        path = Path(value).expanduser()
        looks_local = value.startswith(("/", "./", "../", "~")) or path.suffix.lower() in WEIGHT_SUFFIXES
        if looks_local and not path.exists():
            raise DfkdError(f"{where}: {what} '{value}' does not exist (looked for {path.resolve()}).")


def check_run(cfg: dict, where: str = "run config", data_dir=None, download: bool = False) -> list:
    """Raises DfkdError at the first problem of the whole config; returns [(Stage, settings)]."""
    validate_config(cfg, where)
    integer(cfg.get("seed", 0), "seed", where, low=0)
    check_device(cfg.get("device", "auto"), where)
    check_teacher(cfg.get("teacher", "demo"), where)
    plan, parsed = Plan([name for name, _ in stages_of(cfg)], data_dir, download), []
    for i, (name, mapping) in enumerate(stages_of(cfg), 1):
        stage, at = STAGES[name], f"{where}, stage {i} '{name}'"
        settings = stage.parse(mapping, cfg, at)
        if stage.needs_images and not plan.images:
            raise DfkdError(f"{at}: no images to work on: put a source stage ({', '.join(SOURCES)}) before it.")
        try:
            stage.check(settings, plan, at)
            check_memory(name, settings, cfg.get("teacher", "demo"), at)  # a batch that cannot fit, before any model
        except DfkdError as e:  # a check deeper down does not know where it sits in the run
            raise e if str(e).startswith(at) else DfkdError(f"{at}: {e}") from None
        plan.images |= stage.makes_images
        plan.real |= stage.collects_real
        parsed.append((stage, settings))
    for name, split, root, fetch, at in plan.datasets:
        try:
            check_dataset(name, split, root, fetch)
        except DfkdError as e:
            raise DfkdError(f"{at}: {e}")
    return parsed


def check_against_teacher(cfg: dict, teacher):
    """Cross-checks that need the loaded teacher: an eval set with the teacher's class count."""
    for i, (name, settings) in enumerate(stages_of(cfg), 1):
        if name == "distill" and settings.get("eval"):
            n = class_count(settings["eval"], settings.get("eval_split", "test"))
            if n is not None and n != teacher.num_classes:
                raise DfkdError(f"stage {i} 'distill': the eval set {settings['eval']} has {n} classes but the "
                                f"teacher has {teacher.num_classes}; evaluate on the teacher's own test set.")
