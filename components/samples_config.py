"""The Samples tab's controls read as the engine's settings: the diffusion backbone to load,
the GuidanceConfig (checked whole by the engine), the classes as target indices. Shared by
Generate, "Watch a sample form" and the sweep, so all three read the controls one way."""

import gradio as gr

from dfkd_core import DfkdError
from dfkd_core.methods.diffdfkd.config import CutMixConfig, GuidanceConfig
from dfkd_core.paths import PRIOR

from .common import field

DEMO_PRIOR, LOCAL, HUB = "Demo prior (latent, Fashion-MNIST)", "Local folder", "Hub id"


def backbone_source(kind, path) -> str:
    source = str(PRIOR) if kind in (None, DEMO_PRIOR) else (path or "").strip()
    if not source:
        raise DfkdError("Enter the backbone's local folder or hub id.")
    return source


def guidance(strength, bn, steps, window_start, window_end, mode, candidates, every, eta, use_cutmix, cutmix_step,
             cutmix_alpha) -> GuidanceConfig:
    """The GuidanceConfig of the controls, checked by the engine (ranges, and the rules between
    settings: CutMix after the candidate choice, inside the trajectory)."""
    cutmix = CutMixConfig((field(cutmix_step, "CutMix step", whole=True),), field(cutmix_alpha, "CutMix alpha")) \
        if use_cutmix else None
    window = (field(window_start, "guide from"), field(window_end, "guide until"))
    cfg = GuidanceConfig(steps=field(steps, "steps", whole=True), strength=field(strength, "strength"),
                         bn=field(bn, "bn"), window=window,
                         mode=mode, candidates=field(candidates, "candidates", whole=True),
                         every=field(every, "every", whole=True), eta=field(eta, "eta"), cutmix=cutmix)
    cfg.validate()
    return cfg


def class_indices(teacher, classes) -> list[int]:
    if not classes:
        raise DfkdError("Pick at least one class.")
    names = teacher.class_names
    unknown = [c for c in classes if c not in names]
    if unknown:
        raise DfkdError(f"Unknown classes {unknown}: the teacher's classes are {names}.")
    return [names.index(c) for c in classes]


def cutmix_range(steps, current):
    """The CutMix-step slider's range for this many steps: a step of the trajectory, 0 to steps - 1."""
    try:
        high = max(int(steps) - 1, 0)
    except (TypeError, ValueError):
        return gr.skip()
    return gr.update(maximum=high, value=min(max(int(current if current is not None else 0), 0), high))


def window_pair(start, end, moved: str):
    """Keep "guide from" <= "guide until": the other slider follows the one moved."""
    if start is None or end is None or start <= end:
        return gr.skip(), gr.skip()
    return (gr.skip(), gr.update(value=start)) if moved == "start" else (gr.update(value=end), gr.skip())
