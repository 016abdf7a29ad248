"""Pipeline stage `hidfd`: collect a few real images, train the teacher-guided GAN on them,
write class-balanced samples of its EMA generator, and hand on both: the samples as the
run's current store, the real images (labelled by the teacher) for data inflation.

    - hidfd:
        real: {source: demo, count: 600}    # or per_class: 60; source: a folder, .zip, dataset name
        gan: {steps: 600, g_ch: 16}         # GANConfig settings
        count: 2000                         # synthetic samples written (balanced over classes)
    - distill: {student: wrn_16_1, real_repeat: 4, eval: fashion-mnist}

In the stage folder: real/ (store of the collected images), real-classes.csv (the teacher's
class frequencies on them), gan/ (checkpoint, metrics.csv, grid.png), generator.safetensors
+ generator.json, samples/ (the synthetic store). Every part resumes when the run is rerun."""

import time

import torch
from PIL import Image

from dfkd_core.io import atomic_write
from dfkd_core.methods.writer import REFUSE, Made, write_source
from dfkd_core.stage import Stage
from dfkd_core.store import LabelledBatch, SampleStore, to_uint8

from .collect import class_frequencies, collect
from .config import CollectSettings, HiDFDSettings, with_stage_seed
from .models import standing_stats
from .sample import save_generator, unlabelled_grid, verdict_summary
from .source import GanSamples
from .train import train_gan


def run(s: HiDFDSettings, ctx):
    teacher, names, root, gan_cfg = ctx.teacher, ctx.teacher.class_names, ctx.stage_dir, s.gan
    real_store = collect_real(s.real, ctx)
    ctx.real_store, ctx.real = real_store, real_store.load()

    def on_log(row):
        ctx.progress("hidfd gan", row["step"], gan_cfg.steps)
        ctx.on_metrics("hidfd", row)

    def on_samples(step, images):
        write_unlabelled_grid(root / "gan" / "grid.png", images, teacher.num_classes)

    run = train_gan(ctx.real, teacher, gan_cfg, root / "gan", on_log=on_log, on_samples=on_samples,
                    should_stop=ctx.should_stop, device=ctx.device)
    if not run.finished:
        return
    ema = standing_stats(run.ema, generator_rng=torch.Generator().manual_seed(s.seed))
    store = write_samples(ema, ctx, s.count, s.seed, s.batch_size)  # Cancelled when stopped
    verdict = verdict_summary(_as_batch(store))
    save_generator(root / "generator", ema, {
        "class_names": names, "teacher": str(ctx.config.get("teacher", "demo")), "real_images": s.real.given(),
        "real_count": len(ctx.real), "gan_config": vars(gan_cfg), "steps": run.step,
        "train_seconds": run.rows[-1]["seconds"] if run.rows else 0.0, "samples": s.count, **verdict,
        "command": getattr(ctx, "command", ""), "created": time.strftime("%Y-%m-%dT%H:%M:%S")})
    ctx.store = store
    ctx.results.update({"real_images": len(ctx.real), "gan_steps": run.step,
                        "gan_train_s": run.rows[-1]["seconds"] if run.rows else 0.0, "images": s.count,
                        "samples_target_rate": verdict["target_rate"],
                        "samples_teacher_ce": verdict["teacher_ce"]})


def collect_real(real: CollectSettings, ctx) -> SampleStore:
    """The collected images in a store (seed = index in the source), and real-classes.csv."""
    store = SampleStore(ctx.stage_dir / "real")
    if store.manifest_path.exists():
        return store
    picked = collect(ctx.teacher, real.source, real.split, real.count, real.per_class, real.seed, real.data_dir)
    names = ctx.teacher.class_names
    freq = class_frequencies(picked, names)
    atomic_write(ctx.stage_dir / "real-classes.csv", lambda tmp: freq.to_csv(tmp, index=False))
    source = Made(picked.as_batch(), ctx.teacher, {"class_names": names, **real.given()})
    write_source(source, store, source.plan(), max(len(source.plan()), 1), existing=REFUSE)
    return store


def write_samples(ema, ctx, count: int, seed: int, batch_size: int) -> SampleStore:
    """The generator's balanced samples in samples/ (sources.write_source: resumes; Cancelled when stopped)."""
    store = SampleStore(ctx.stage_dir / "samples")
    source = GanSamples(ema, ctx.teacher, count, seed, {"generator": str(ctx.stage_dir / "generator.json")})
    write_source(source, store, source.plan(), batch_size, should_stop=ctx.should_stop,
                 progress=lambda done, total: ctx.progress("hidfd samples", done, total))
    return store


def _as_batch(store: SampleStore) -> LabelledBatch:
    df = store.manifest()
    probs = torch.tensor([[float(p) for p in row.split(";")] for row in df["teacher_probs"]])
    return LabelledBatch(torch.empty(0), torch.tensor(df["target"].to_numpy()), df["seed"].tolist(), probs, "hidfd")


def write_unlabelled_grid(path, images: torch.Tensor, rows: int):
    """unlabelled_grid as a PNG at `path`, rewritten at every training snapshot (judges.save_grid
    writes the labelled per-class grid)."""
    array = to_uint8(unlabelled_grid(images, rows).unsqueeze(0))[0]
    atomic_write(path, lambda tmp: Image.fromarray(array).save(tmp, format="PNG"), suffix=".png")


HIDFD = Stage("hidfd", HiDFDSettings, run, "a teacher-guided GAN from a few real images (HiDFD)", makes_images=True,
              collects_real=True, prepare=with_stage_seed)
