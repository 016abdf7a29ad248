"""`dfkd generate`: teacher-guided samples for chosen classes into a sample store.

One run = one folder with config.yaml (which reproduces it) and a sample store (images/,
metadata.csv, settings.json).
Rerunning the same config resumes: samples already in the store are skipped (sources.write_source).
Under torchrun or `accelerate launch` each process makes its share of the plan's batches into
the same store (sources.share); the store ends the same as a one-process run's."""

import json
from pathlib import Path

import yaml

from dfkd_core.diffusion import weights_digest
from dfkd_core.diffusion.loading import backbone_source, resolve_backbone
from dfkd_core.errors import DfkdError
from dfkd_core.io import write_json, write_text
from dfkd_core.methods.base import Key, per_class_plan
from dfkd_core.methods.online_student import online_student_for
from dfkd_core.methods.writer import write_source
from dfkd_core.runtime import distributed
from dfkd_core.settings import differences
from dfkd_core.store import SampleStore
from dfkd_core.teacher.spec import resolve_teacher

from .config import GenerateConfig, planned_images
from .losses import check_guidance_fits_teacher
from .source import Diffusion


def same_backbone_digest(out: Path, name: str) -> str:
    """The digest of the backbone's weights, checked against the one `out` began with: `demo`
    or a folder can be retrained in place, and one store must not mix two priors' samples."""
    stamp, digest = out / "backbone.json", weights_digest(backbone_source(name))
    if stamp.exists() and json.loads(stamp.read_text())["weights"] != digest:
        raise DfkdError(f"{out} was sampled from other weights of the backbone '{name}' (it has changed since; "
                        f"see {stamp}). Use a new output folder for the new weights.")
    return digest


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
        changed = differences({k: v for k, v in previous.to_dict().items() if k not in where},
                              {k: v for k, v in cfg.to_dict().items() if k not in where})
        if changed:
            raise DfkdError(f"{out} holds a run with other settings (see {config_path}); the settings that differ "
                            f"(old -> new): {'; '.join(changed)}. Use a new output folder, or the same settings "
                            "to resume.")
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
