"""Pipeline stage `filter`: scores the current store (scores.csv: cosine of each variation to
its source, the teacher's confidence), writes the kept samples to the stage folder's store
and makes it the current one. Resumes where it stopped."""

from dfkd_core.errors import Cancelled
from dfkd_core.stage import Stage

from .config import FilterSettings
from .scores import class_counts, export_kept, score_store, write_scores


def run(s: FilterSettings, ctx):
    try:
        scores = score_store(ctx.store, ctx.teacher, s.omega, s.tau, embedding=s.embedding, clip_model=s.clip_model,
                             batch_size=s.batch_size, should_stop=ctx.should_stop,
                             progress=lambda done, total: ctx.progress(ctx.stage_label, done, total))
    except Cancelled:
        return
    write_scores(scores, ctx.stage_dir / "scores.csv", overwrite=True)  # the run folder's own file
    ctx.store = export_kept(ctx.store, scores, ctx.stage_dir)
    counts = class_counts(scores)
    ctx.results.update(kept=int(counts["kept"].sum()), dropped=int(counts["dropped"].sum()),
                       kept_variations=int(counts["kept_variations"].sum()))


FILTER = Stage("filter", FilterSettings, run, "keep samples close to their source and confident (DDA's filter)",
               needs_images=True)
