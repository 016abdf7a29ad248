"""Pipeline stages `generate` (teacher-guided diffusion samples, DiffDFKD) and `unguided`
(the same prior sampled without guidance, labelled by the teacher's soft labels in
distillation). Settings: GenerateConfig's (but out, teacher and device, which the run sets)."""

from dataclasses import replace

from dfkd_core.diffusion.loading import backbone_source
from dfkd_core.errors import DfkdError
from dfkd_core.stage import Stage

from .config import GenerateConfig
from .generate import run_generation

RUN_FILLS = {"out": ".", "teacher": "demo", "device": "cpu"}  # the run's own: replaced when the stage runs


def run(s: GenerateConfig, ctx):
    cfg = replace(s, out=str(ctx.stage_dir), teacher=ctx.config.get("teacher", "demo"), device=ctx.device)
    ctx.store = run_generation(cfg, teacher=ctx.teacher, should_stop=ctx.should_stop,
                               progress=lambda done, total: ctx.progress(ctx.stage_label, done, total))
    ctx.results["images"] = len(ctx.store.manifest())


def check(s: GenerateConfig, plan, where: str):
    plan.local_file(backbone_source(s.backbone), "backbone", where)


def without_guidance(mapping: dict, where: str) -> dict:
    """`unguided` samples at strength 0: a strength set to anything else is refused."""
    guidance = dict(mapping.get("guidance") or {})
    if guidance.get("strength", 0) != 0:
        raise DfkdError(f"{where}: samples without guidance: leave guidance.strength out (it is 0).")
    return {**mapping, "guidance": {**guidance, "strength": 0.0}}


GENERATE = Stage("generate", GenerateConfig, run, "teacher-guided diffusion samples (DiffDFKD)", check=check,
                 makes_images=True, fills=RUN_FILLS)
UNGUIDED = Stage("unguided", GenerateConfig, run, "prior samples without guidance, labelled by the teacher",
                 check=check, makes_images=True, fills=RUN_FILLS, prepare=without_guidance)
