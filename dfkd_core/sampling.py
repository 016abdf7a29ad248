"""What the Samples tab asks of the engine: guided samples beside unguided ones on the
same seeds, streamed previews, and adding a batch to a named sample set."""

import os
import re
from dataclasses import replace
from pathlib import Path

from .errors import Cancelled, DfkdError
from .guidance import GuidanceConfig, guided_sample
from .sources.base import REFUSE, Made, flat_plan, write_source
from .store import SampleStore, is_store

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def runs_dir() -> Path:
    """Where the app keeps runs and sample sets: $DFKD_RUNS_DIR, default ./runs."""
    return Path(os.environ.get("DFKD_RUNS_DIR") or "runs")


def compare_job(backbone, teacher, targets, seeds, cfg: GuidanceConfig, report, should_stop, preview_every=2):
    """For streaming: reports ("preview", step, total, x0 images) while the guided batch
    forms, then returns (guided, unguided) LabelledBatches on the same seeds. A stop raises
    Cancelled("Cancelled at step N of M ..."), N being the last step that ran."""
    steps = _StepCounter(should_stop, cfg.steps)
    steps.phase = "guided"
    guided = guided_sample(backbone, teacher, targets, seeds, cfg, should_stop=steps,
                           preview_every=preview_every,
                           on_preview=lambda step, total, images: report(("preview", step, total, images)))
    steps.restart("unguided")
    unguided = guided_sample(backbone, teacher, targets, seeds, replace(cfg, strength=0.0), should_stop=steps)
    steps()  # a stop asked for during the last step still cancels: the user said not to keep this batch
    return guided, unguided


def strength_rows(backbone, teacher, targets, seeds, cfg: GuidanceConfig, strengths, report, should_stop):
    """The strength sweep: for each strength, the same seeds sampled with `cfg` at that
    strength; reports ("row", strength, LabelledBatch) as each row finishes and returns them
    all. (The engine sweep of the judges issue may replace this once it lands.)"""
    rows = []
    for strength in strengths:
        steps = _StepCounter(should_stop, cfg.steps)
        steps.phase = f"strength {strength:g}"
        batch = guided_sample(backbone, teacher, targets, seeds, replace(cfg, strength=float(strength)),
                              should_stop=steps)
        rows.append((float(strength), batch))
        report(("row", float(strength), batch))
    return rows


def filmstrip_frames(previews: list, frames: int = 6) -> list:
    """`frames` evenly spaced (step, image) pairs of a trajectory's x0 previews (the last
    one always kept): how one sample forms, step by step."""
    if len(previews) <= frames:
        return list(previews)
    picks = {round(i * (len(previews) - 1) / (frames - 1)) for i in range(frames)}
    return [previews[i] for i in sorted(picks)]


class _StepCounter:
    """should_stop for guided_sample (polled once per step): counts the steps that ran, so
    a stop can say where it happened."""

    def __init__(self, should_stop, total: int):
        self.should_stop, self.total, self.done, self.phase = should_stop, total, 0, ""

    def restart(self, phase: str):
        self.done, self.phase = 0, phase

    def __call__(self) -> bool:
        if self.should_stop and self.should_stop():
            raise Cancelled(f"Cancelled at step {self.done} of {self.total} ({self.phase} pass).")
        self.done += 1
        return False


def checked_name(name: str, what: str = "Sample-set") -> str:
    """Names of sample sets and runs are plain (letters, digits, . _ -), never paths."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:  # fullmatch: no "name\n"
        raise DfkdError(f"{what} name {name!r} is not allowed. Use 1-64 letters, digits, '.', '_' or '-', "
                        "starting with a letter or digit.")
    return name


def sample_set_path(name: str, root=None) -> Path:
    return Path(root or runs_dir() / "sample-sets") / checked_name(name)


def open_sample_set(name_or_path: str) -> SampleStore:
    """A store folder (holding metadata.csv, or manifest.csv from before it), or the name of
    one of the app's sample sets."""
    path = Path(name_or_path)
    if not is_store(path) and "/" not in name_or_path:
        path = sample_set_path(name_or_path)
    if not is_store(path):
        raise DfkdError(f"No sample store at '{name_or_path}': expected a folder holding metadata.csv "
                        "(e.g. the --out of `dfkd generate`) or the name of a sample set.")
    return SampleStore(path)


def add_to_sample_set(name: str, batch, teacher, settings: dict, root=None) -> SampleStore:
    """Add a batch to the set `name`; samples it already holds (same class and seed) are
    refused, never replaced: the DfkdError names them and the next unused seed."""
    store = SampleStore(sample_set_path(name, root))
    source = Made(batch, teacher, settings)
    keys = source.plan()
    write_source(source, store, keys, max(len(keys), 1), existing=REFUSE)  # all or nothing
    return store


def sample_seeds(targets, seed: int) -> list[int]:
    """The Samples tab's seeds for a batch of `targets` from `seed` on: one per sample (at
    strength 0 a shared seed repeats the same image), sources.flat_plan."""
    return [k.seed for k in flat_plan(len(targets), seed, targets)]


def unused_seed(name: str, root=None) -> int:
    """The first seed of a batch that the set `name` cannot already hold (0 for a new set):
    the engine's default seed for the Samples tab, so that adding never clashes."""
    path = sample_set_path(name, root)
    return SampleStore(path).unused_seed() if is_store(path) else 0


def cutmix_box_in_pixels(record: dict, latent_size: int, image_size: int) -> list[int]:
    """A CutMix box recorded in latent coordinates, in image pixels."""
    scale = image_size / latent_size
    return [round(v * scale) for v in record["box"]]


def app_defaults() -> GuidanceConfig:
    """The Samples tab's starting settings: the engine's defaults, with ancestral sampling
    (eta 1) as the shipped configs use; on the demo prior it gives cleaner images and more
    agreement from the texture-proof judges than DDIM (issue 18's measurements)."""
    return replace(GuidanceConfig(), eta=1.0)
