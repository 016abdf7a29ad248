"""Pipeline stage `augment` (DDA): copies the current store's sources into its stage folder
and adds their variations there (their teacher features go into that store's embeddings/
cache as they are written); the store becomes the current one. Resumes where it stopped.

    - augment: {variations: 2, strength: 0.5, guidance: 0.08, backbone: demo}
    - filter: {omega: 0.95, tau: 0.5, embedding: teacher}     # dfkd_core.filter.stage"""

from dfkd_core.diffusion.loading import backbone_source, resolve_backbone
from dfkd_core.errors import Cancelled
from dfkd_core.settings import base_of
from dfkd_core.stage import Stage

from .config import AugmentSettings, DDAConfig
from .variations import augment_store, source_rows


def run(s: AugmentSettings, ctx):
    store = ctx.store.copy_to(source_rows(ctx.store)["id"], ctx.stage_dir)
    try:
        augment_store(store, resolve_backbone(s.backbone, ctx.device), ctx.teacher, base_of(s, DDAConfig),
                      backbone_name=s.backbone, should_stop=ctx.should_stop,
                      progress=lambda done, total: ctx.progress(ctx.stage_label, done, total))
    except Cancelled:
        return
    ctx.store = store
    ctx.results["variations"] = int((store.manifest()["variation"] > 0).sum())


def check(s: AugmentSettings, plan, where: str):
    plan.local_file(backbone_source(s.backbone), "backbone", where)


AUGMENT = Stage("augment", AugmentSettings, run, "variations of the samples (DDA, SDEdit-style)", check=check,
                needs_images=True)
