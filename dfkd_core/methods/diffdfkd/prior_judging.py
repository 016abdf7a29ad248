"""How good a prior is on its own: its unguided samples, labelled by the teacher, judged by
the panel. The texture-proof judges' agreement with the teacher's label says how many are
recognisable as the class the teacher sees (real test images: ~83 %); the Fréchet distance
in pixel-PCA space says how close the set is to real images (beside the distance of as many
real images: small sets read high)."""

import time

import torch

from dfkd_core.methods.base import flat_plan

from .config import GuidanceConfig
from .sampler import guided_sample


def judge_prior(backbone, teacher, panel, samples: int = 1000, steps: int = 25, first_seed: int = 10_000,
                batch_size: int = 100) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """(figures, images, teacher labels) of `samples` unguided samples, seeds first_seed on."""
    t0, images = time.perf_counter(), []
    cfg = GuidanceConfig(steps=steps, strength=0.0)
    keys = flat_plan(samples, first_seed, [0] * samples)  # (the target is ignored: no guidance)
    for start in range(0, samples, batch_size):
        part = keys[start:start + batch_size]
        images.append(guided_sample(backbone, teacher, [k.target for k in part], [k.seed for k in part], cfg).images)
    images = torch.cat(images)
    seconds = time.perf_counter() - t0
    labels = teacher.probs(images).argmax(1)
    result = panel.judge(images, labels)
    figures = {"samples": samples, "steps": steps, "first_seed": first_seed,
               "seconds_per_image": round(seconds / samples, 4),
               "agreement_with_teacher_label": {k: round(j["agreement"], 4) for k, j in result["judges"].items()
                                                if k != "teacher"},
               "frechet_pixel_pca": round(result["frechet"]["samples"], 3),
               "frechet_real_floor": round(result["frechet"]["real_floor"], 3),
               "teacher_label_counts": torch.bincount(labels, minlength=len(panel.class_names)).tolist()}
    return figures, images, labels
