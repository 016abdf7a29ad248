"""What the Samples tab asks of the engine: guided samples beside unguided ones on the
same seeds, streamed previews, and adding a batch to a named sample set."""

from dataclasses import replace

from dfkd_core.errors import Cancelled
from dfkd_core.methods.base import flat_plan

from .config import GuidanceConfig
from .sampler import guided_sample


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


def sample_seeds(targets, seed: int) -> list[int]:
    """The Samples tab's seeds for a batch of `targets` from `seed` on: one per sample (at
    strength 0 a shared seed repeats the same image), sources.flat_plan."""
    return [k.seed for k in flat_plan(len(targets), seed, targets)]


def cutmix_box_in_pixels(record: dict, latent_size: int, image_size: int) -> list[int]:
    """A CutMix box recorded in latent coordinates, in image pixels."""
    scale = image_size / latent_size
    return [round(v * scale) for v in record["box"]]


def app_defaults() -> GuidanceConfig:
    """The Samples tab's starting settings: the engine's defaults, as the CLI's."""
    return GuidanceConfig()
