"""HiDFD as one job for a UI: collect the real images, train the GAN, and report as it goes
(run it through dfkd_core.runtime.streaming.stream). Reports ("collected", class-frequency table),
("log", metrics row) and ("samples", step, per-class grid images); returns the run (its EMA
generator ready to sample) and the collection; a finished run's generator is saved in
out_dir (generator.safetensors + generator.json) beside the GAN's checkpoint."""

from pathlib import Path

import torch

from dfkd_core.errors import DfkdError
from dfkd_core.methods.base import balanced_keys

from .collect import class_frequencies, collect
from .config import GANConfig
from .models import standing_stats
from .sample import save_generator
from .train import train_gan


def hidfd_job(teacher, source, count, per_class, seed: int, cfg: GANConfig, out_dir, report, should_stop,
              split=None):
    collected = collect(teacher, source, split, count, per_class, seed)
    report(("collected", class_frequencies(collected, teacher.class_names)))
    run = train_gan(collected.images, teacher, cfg, out_dir, on_log=lambda row: report(("log", row)),
                    on_samples=lambda step, images: report(("samples", step, images)),
                    should_stop=should_stop, device=teacher.device)
    standing_stats(run.ema, generator_rng=torch.Generator().manual_seed(seed))
    if run.finished:
        save_generator(Path(out_dir) / "generator", run.ema, {
            "class_names": teacher.class_names, "real_images": collected.source, "real_count": len(collected.indices),
            "gan_config": vars(cfg), "steps": run.step, "train_seconds": run.rows[-1]["seconds"] if run.rows else 0.0})
    return run, collected


MAX_SAMPLES = 1_000_000  # per request: chunks bound the memory, this bounds the time and the disk
CHUNK = 500


def balanced_chunks(num_classes: int, count: int, seed: int = 0, chunk: int = CHUNK):
    """methods.base.balanced_plan(num_classes, count, seed) as (targets, seeds) pieces of at most `chunk`
    samples, in the same order, without ever holding the whole plan."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SAMPLES:
        raise DfkdError(f"The number of samples must be a whole number from 1 to {MAX_SAMPLES:,}, got {count!r}.")
    targets, seeds = [], []
    for key in balanced_keys(num_classes, count, seed):
        targets.append(key.target)
        seeds.append(key.seed)
        if len(targets) == chunk:
            yield targets, seeds
            targets, seeds = [], []
    if targets:
        yield targets, seeds
