"""`dfkd generate`: teacher-guided samples for chosen classes into a sample store.

One run = one folder with config.yaml (which reproduces it) and a sample store (images/,
metadata.csv, settings.json).
Rerunning the same config resumes: samples already in the manifest are skipped."""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from .augment.cutmix import CutMixConfig
from .errors import DfkdError
from .guidance import GuidanceConfig, guided_sample
from .io import write_json, write_text
from .store import SampleStore, store_batch


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
    guidance: GuidanceConfig = field(default_factory=GuidanceConfig)

    @classmethod
    def from_dict(cls, d: dict) -> "GenerateConfig":
        d = dict(d)
        g = dict(d.pop("guidance", {}) or {})
        if g.get("cutmix"):
            g["cutmix"] = CutMixConfig(**g["cutmix"])
        if "window" in g:
            g["window"] = tuple(g["window"])
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise DfkdError(f"Unknown settings {sorted(unknown)}; expected {sorted(cls.__dataclass_fields__)}.")
        try:
            return cls(**d, guidance=GuidanceConfig(**g))
        except TypeError as e:
            raise DfkdError(f"Bad generate config: {e}.")

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


def resolve_backbone(name: str, device: str):
    from .diffusion import load_backbone
    return load_backbone(backbone_source(name), device=device)


def same_backbone_digest(out: Path, name: str) -> str:
    """The digest of the backbone's weights, checked against the one `out` began with: `demo`
    or a folder can be retrained in place, and one store must not mix two priors' samples."""
    from .diffusion import weights_digest
    stamp, digest = out / "backbone.json", weights_digest(backbone_source(name))
    if stamp.exists() and json.loads(stamp.read_text())["weights"] != digest:
        raise DfkdError(f"{out} was sampled from other weights of the backbone '{name}' (it has changed since; "
                        f"see {stamp}). Use a new output folder for the new weights.")
    return digest


def plan(cfg: GenerateConfig, num_classes: int) -> list[tuple[int, int]]:
    """(target, seed) for every sample of the run, class by class (so a batch holds
    same-class partners for Latent CutMix). Every sample has its own seed, seed + k * K + c
    for the k-th sample of class c of K: at strength 0 the class changes nothing, so a
    seed shared across classes would repeat the same image in every class; and a larger
    per_class keeps the seeds of the samples it already had."""
    classes = list(range(num_classes)) if cfg.classes is None else [int(c) for c in cfg.classes]
    bad = [c for c in classes if not 0 <= c < num_classes]
    if bad:
        raise DfkdError(f"classes {bad} out of range: the teacher has classes 0..{num_classes - 1}.")
    return [(c, cfg.seed + k * num_classes + c) for c in classes for k in range(cfg.per_class)]


def run_generation(cfg: GenerateConfig, progress=None, should_stop=None, teacher=None, backbone=None) -> SampleStore:
    """progress(done, total) after each batch; should_stop() polled every step."""
    out = Path(cfg.out)
    config_path = out / "config.yaml"
    if config_path.exists():
        previous = GenerateConfig.from_dict(yaml.safe_load(config_path.read_text()))
        if previous.to_dict() != cfg.to_dict():
            raise DfkdError(f"{out} holds a run with other settings (see {config_path}). "
                            "Use a new output folder, or the same settings to resume.")
    cfg.guidance.validate()
    digest = same_backbone_digest(out, cfg.backbone)  # before loading anything: a refusal is immediate
    teacher = teacher or resolve_teacher(cfg.teacher)
    backbone = backbone or resolve_backbone(cfg.backbone, cfg.device)
    teacher.to(cfg.device)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "backbone.json", {"backbone": cfg.backbone, "weights": digest})
    write_text(config_path, yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    store = SampleStore(out)
    done, planned = store.existing_keys(), plan(cfg, teacher.num_classes)
    stray = done - set(planned)
    if stray:
        raise DfkdError(f"{out} holds {len(stray)} samples this config would not make (e.g. class, seed "
                        f"{sorted(stray)[0]}): made by an older version that planned seeds differently. "
                        "Use a new output folder.")
    todo = [key for key in planned if key not in done]
    total = len(done) + len(todo)
    settings = {**asdict(cfg.guidance), "backbone": cfg.backbone, "teacher": cfg.teacher,
                "class_names": teacher.class_names}
    for start in range(0, len(todo), cfg.batch_size):
        chunk = todo[start:start + cfg.batch_size]
        batch = guided_sample(backbone, teacher, [t for t, _ in chunk], [s for _, s in chunk], cfg.guidance,
                              should_stop=should_stop)
        store_batch(store, batch, teacher, settings)
        if progress:
            progress(len(done) + start + len(chunk), total)
    return store
