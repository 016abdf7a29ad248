"""Pipeline stages for DDA (see pipeline.py):

    - augment: {variations: 2, strength: 0.5, guidance: 0.08, backbone: demo}
    - filter: {omega: 0.95, tau: 0.5, embedding: teacher}

augment copies the current store's sources into its stage folder and adds their
variations there (their teacher features go into that store's embeddings/ cache as they
are written); filter scores that store (scores.csv) and writes the kept samples to its own
stage folder. Each makes its store the current one and resumes where
it stopped."""

from dataclasses import fields

from ..errors import DfkdError
from ..filtering import class_counts, export_kept, score_store, write_scores
from ..guidance import Cancelled
from ..stages import check_keys
from .dda import DDAConfig, augment_store, source_rows

DDA_KEYS = {f.name for f in fields(DDAConfig)}


def _check(stage: str, settings: dict, allowed: set, ctx):
    check_keys(stage, settings, allowed)
    if ctx.store is None:
        raise DfkdError(f"Stage '{stage}' needs samples: put a source stage (e.g. generate) before it.")


def augment(settings: dict, ctx):
    from ..generate import resolve_backbone

    _check("augment", settings, DDA_KEYS | {"backbone"}, ctx)
    cfg = DDAConfig(**{"seed": ctx.config.get("seed", 0), **{k: v for k, v in settings.items() if k in DDA_KEYS}})
    cfg.validate()
    store = ctx.store.copy_to(source_rows(ctx.store)["id"], ctx.stage_dir)
    name = str(settings.get("backbone", "demo"))
    try:
        augment_store(store, resolve_backbone(name, ctx.device), ctx.teacher, cfg, backbone_name=name,
                      progress=lambda done, total: ctx.progress("augment", done, total), should_stop=ctx.should_stop)
    except Cancelled:
        return
    ctx.store = store
    ctx.results["variations"] = int((store.manifest()["variation"] > 0).sum())


def filter(settings: dict, ctx):
    _check("filter", settings, {"omega", "tau", "embedding", "clip_model", "batch_size"}, ctx)
    omega, tau = float(settings.get("omega", 0.9)), float(settings.get("tau", 0.0))
    try:
        scores = score_store(ctx.store, ctx.teacher, omega, tau, embedding=settings.get("embedding", "teacher"),
                             clip_model=settings.get("clip_model"), batch_size=int(settings.get("batch_size", 256)),
                             should_stop=ctx.should_stop,
                             progress=lambda done, total: ctx.progress("filter", done, total))
    except Cancelled:
        return
    write_scores(scores, ctx.stage_dir / "scores.csv")
    ctx.store = export_kept(ctx.store, scores, ctx.stage_dir)
    counts = class_counts(scores)
    ctx.results.update(kept=int(counts["kept"].sum()), dropped=int(counts["dropped"].sum()),
                       kept_variations=int(counts["kept_variations"].sum()))
