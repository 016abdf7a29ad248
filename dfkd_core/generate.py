"""`dfkd generate`: teacher-guided samples for chosen classes into a sample store.

One run = one folder with config.yaml (which reproduces it) and a sample store (images/,
metadata.csv, settings.json).
Rerunning the same config resumes: samples already in the store are skipped (sources.write_source).
Under torchrun or `accelerate launch` each process makes its share of the plan's batches into
the same store (sources.share); the store ends the same as a one-process run's."""

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
import yaml

from . import distributed
from .augment.cutmix import CutMixConfig
from .errors import DfkdError
from .guidance import GuidanceConfig, check_guidance_fits_teacher
from .io import write_json, write_text
from .online_student import online_student_for
from .precision import BACKBONE_PRECISIONS, check_precision
from .settings import check_keys, check_types, integer, number, text
from .sources.base import Key, per_class_plan, write_source
from .sources.diffusion import Diffusion
from .store import SampleStore

MAX_PER_CLASS = 100_000  # CIFAR-scale runs make 5,000 per class
MAX_IMAGES = 2_000_000  # per run; ImageNet-scale diffusion distillation used 1.28 M
MAX_BATCH = 4096


@dataclass
class GenerateConfig:
    out: str
    teacher: str = "demo"
    backbone: str = "demo"
    classes: list | None = None  # None: every class of the teacher
    per_class: int = 10
    batch_size: int = 16
    seed: int = 0
    device: str = "cpu"
    precision: str = "auto"  # auto (fp16/bf16 weights on CUDA, fp32 on a CPU), fp32, or bf16 autocast
    guidance: GuidanceConfig = field(default_factory=GuidanceConfig)

    @classmethod
    def from_dict(cls, d: dict, where: str = "generate config") -> "GenerateConfig":
        """A checked config (see validate) from a mapping, e.g. a YAML file."""
        d = dict(check_keys(d, [f.name for f in fields(cls)], where))
        g = dict(check_keys(d.pop("guidance", None) or {}, [f.name for f in fields(GuidanceConfig)],
                            f"{where}: guidance"))
        if g.get("cutmix"):
            g["cutmix"] = CutMixConfig(**check_keys(g["cutmix"], [f.name for f in fields(CutMixConfig)],
                                                    f"{where}: guidance.cutmix"))
        if "window" in g:
            if not isinstance(g["window"], (list, tuple)) or len(g["window"]) != 2:
                raise DfkdError(f"{where}: guidance.window must be [start, end], got {g['window']!r}.")
            g["window"] = tuple(g["window"])
        try:
            cfg = cls(**d, guidance=GuidanceConfig(**g))
        except TypeError as e:
            raise DfkdError(f"{where}: {e}.") from None
        return cfg.validate(where)

    def validate(self, where: str = "generate config") -> "GenerateConfig":
        """Types and ranges of every setting, before any work. per_class and the planned
        total are bounded: a plan of 10^9 samples once ran the machine out of memory."""
        text(self.out, "out", where)
        check_types(self, where)
        integer(self.per_class, "per_class", where, low=1, high=MAX_PER_CLASS)
        integer(self.batch_size, "batch_size", where, low=1, high=MAX_BATCH)
        integer(self.seed, "seed", where, low=0, high=2 ** 48)
        check_precision(self.precision, where, BACKBONE_PRECISIONS)
        if self.classes is not None:
            if not isinstance(self.classes, (list, tuple)) or not self.classes:
                raise DfkdError(f"{where}: classes must be a non-empty list of class indices (or left out: every "
                                f"class), got {self.classes!r}.")
            self.classes = [integer(c, "classes", where, low=0) for c in self.classes]
            if len(set(self.classes)) != len(self.classes):
                raise DfkdError(f"{where}: classes {self.classes} name a class twice.")
            planned_images(self, len(self.classes), where)
        check_types(self.guidance, f"{where}: guidance")
        for value in self.guidance.window:
            number(value, "guidance.window", where, low=0, high=1)
        self.guidance.validate()
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        d["guidance"]["window"] = list(self.guidance.window)
        return d


def resolve_teacher(spec):
    """'demo', a teacher source, or a mapping {source, arch, num_classes, input_size, mean, std}
    (for bare weights such as Fast-Datafree/CMI or torchvision checkpoints): see TeacherSpec."""
    from .teacher_spec import TeacherSpec
    return TeacherSpec.from_config(spec).load()


def backbone_source(name: str) -> str:
    from .demo import PRIOR
    return str(PRIOR) if name == "demo" else name


def resolve_backbone(name: str, device: str, precision: str = "auto"):
    """The backbone `name` on `device`; precision (precision.py) 'auto' loads it in the device's
    default dtype, 'fp32' in float32, 'bf16' in float32 to run under bfloat16 autocast."""
    from .diffusion import load_backbone
    backbone = load_backbone(backbone_source(name), device=device,
                             dtype=None if precision == "auto" else torch.float32)
    backbone.precision = precision
    if precision == "bf16" and backbone.device.type == "cpu":
        # on a CPU, bf16 autocast gains more on the denoiser in the contiguous layout than in
        # channels-last (the demo prior: bench_precision.py's "denoiser pass" rows)
        backbone.unet.to(memory_format=torch.contiguous_format)
    return backbone


def same_backbone_digest(out: Path, name: str) -> str:
    """The digest of the backbone's weights, checked against the one `out` began with: `demo`
    or a folder can be retrained in place, and one store must not mix two priors' samples."""
    from .diffusion import weights_digest
    stamp, digest = out / "backbone.json", weights_digest(backbone_source(name))
    if stamp.exists() and json.loads(stamp.read_text())["weights"] != digest:
        raise DfkdError(f"{out} was sampled from other weights of the backbone '{name}' (it has changed since; "
                        f"see {stamp}). Use a new output folder for the new weights.")
    return digest


def planned_images(cfg: GenerateConfig, num_classes: int, where: str = "generate config") -> int:
    total = cfg.per_class * num_classes
    if total > MAX_IMAGES:
        raise DfkdError(f"{where}: {cfg.per_class} per class x {num_classes} classes = {total:,} images; one run makes "
                        f"at most {MAX_IMAGES:,}. Lower per_class, or split the classes over several runs.")
    return total


def plan(cfg: GenerateConfig, num_classes: int) -> list[Key]:
    """Every sample of the run, class by class: sources.per_class_plan (seed + k * K + c for
    the k-th sample of class c of K), after checking the classes and the planned total."""
    classes = list(range(num_classes)) if cfg.classes is None else [int(c) for c in cfg.classes]
    bad = [c for c in classes if not 0 <= c < num_classes]
    if bad:
        raise DfkdError(f"classes {bad} out of range: the teacher has classes 0..{num_classes - 1}.")
    planned_images(cfg, len(classes))
    return per_class_plan(classes, cfg.per_class, num_classes, cfg.seed)


def run_generation(cfg: GenerateConfig, progress=None, should_stop=None, teacher=None, backbone=None) -> SampleStore:
    """progress(done, total) after each batch; should_stop() polled every step."""
    cfg.validate()
    out = Path(cfg.out)
    config_path = out / "config.yaml"
    if config_path.exists():
        previous = GenerateConfig.from_dict(yaml.safe_load(config_path.read_text()))
        where = ("out", "device")  # a moved folder, or another device, makes the same samples
        if {k: v for k, v in previous.to_dict().items() if k not in where} != \
                {k: v for k, v in cfg.to_dict().items() if k not in where}:
            raise DfkdError(f"{out} holds a run with other settings (see {config_path}). "
                            "Use a new output folder, or the same settings to resume.")
    digest = same_backbone_digest(out, cfg.backbone)  # before loading anything: a refusal is immediate
    if distributed.is_distributed() and cfg.guidance.adv > 0:
        raise DfkdError("guidance.adv > 0 teaches one online student from every batch in turn; with several "
                        "processes each would teach its own and the images would differ from a one-process run. "
                        "Run it in one process, or set adv to 0.")
    device = distributed.init_if_needed(cfg.device)  # this rank's device (cuda:LOCAL_RANK under a launcher)
    teacher = teacher or resolve_teacher(cfg.teacher)
    check_guidance_fits_teacher(cfg.guidance, teacher)  # before the backbone loads
    planned = plan(cfg, teacher.num_classes)  # its limits are checked before the backbone loads
    backbone = backbone or resolve_backbone(cfg.backbone, device, cfg.precision)
    teacher.to(device)
    if distributed.is_main():  # the run's files, written once; the other ranks wait for them
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "backbone.json", {"backbone": cfg.backbone, "weights": digest})
        write_text(config_path, yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    distributed.barrier()
    store = SampleStore(out)
    student = online_student_for(cfg.guidance, teacher, out, cfg.seed)  # adv > 0: learns from each batch
    stray = store.existing_keys() - {(k.target, k.seed) for k in planned}
    if stray:
        raise DfkdError(f"{out} holds {len(stray)} samples this config would not make (e.g. class, seed "
                        f"{sorted(stray)[0]}): made by an older version that planned seeds differently. "
                        "Use a new output folder.")
    source = Diffusion(backbone, teacher, cfg.guidance, cfg.classes, cfg.per_class, cfg.seed, student=student,
                       extra_settings={"backbone": cfg.backbone, "teacher": cfg.teacher,
                                       # (left out at its default: the stores made before it keep their ids)
                                       **({"precision": cfg.precision} if cfg.precision != "auto" else {})})
    write_source(source, store, planned, cfg.batch_size, progress=progress, should_stop=should_stop)
    return store
