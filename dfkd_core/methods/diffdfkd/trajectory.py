"""Watch one sample form: for one (class, seed), the predicted clean image x̂0 at every
denoising step, unguided and guided from the same starting noise, with what the teacher and
the texture-proof judges (pixel kNN, linear on pixel PCA: dfkd_core.judges) make of each.

    traj = trajectory(backbone, teacher, target=7, seed=0, cfg=GuidanceConfig())
    traj.frames[12]["guided"]["p_target"], traj.frames[12]["guided"]["pixel_knn"]

Both passes use one candidate start (so both begin from the seed's own noise: the only
difference between the rows is the guidance) and no Latent CutMix (one sample has no
same-class partner). Built on guided_sample's on_preview callback, called at every step."""

from dataclasses import dataclass, field, replace

import torch

from dfkd_core.errors import DfkdError
from dfkd_core.judges.batch import demo_panel

from .config import GuidanceConfig
from .sampler import guided_sample

PASSES = ("unguided", "guided")


@dataclass
class Trajectory:
    target: int
    seed: int
    class_name: str
    settings: dict
    frames: list = field(default_factory=list)  # per step: {"step", "total", "unguided": {...}, "guided": {...}}
    judges: list = field(default_factory=list)  # the texture-proof judges' labels, [] when none could be fit


def texture_proof_scorers(teacher) -> dict:
    """{label: images -> (N, K) class scores, or None for images of another size than the real
    ones} of the demo kit's texture-proof judges; {} when they cannot judge this teacher's
    images (no Fashion-MNIST here, or other classes)."""
    try:
        ref = demo_panel(teacher).reference
    except DfkdError:
        return {}

    def fits(score):
        return lambda images: score(images) if tuple(images.shape[1:]) == tuple(ref.image_shape) else None
    return {"pixel kNN": fits(ref.knn.scores), "PCA-linear": fits(ref.linear.scores)}


def _scored(images: torch.Tensor, scorers: dict) -> dict:
    """{judge label: predicted class per image} of the judges that can judge these images."""
    out = {label: score(images.clamp(0, 1)) for label, score in scorers.items()}
    return {label: scores.argmax(1) for label, scores in out.items() if scores is not None}


def _verdicts(images: torch.Tensor, target: int, teacher, scored: dict) -> list[dict]:
    """Per image: the teacher's p(target) and argmax, and each judge's class and agreement."""
    with torch.no_grad():
        probs = teacher.probs(images.to(teacher.device)).cpu()
    return [{"p_target": float(probs[i, target]), "teacher_class": int(probs[i].argmax()),
             **{label: {"class": int(pred[i]), "agrees": bool(pred[i] == target)} for label, pred in scored.items()}}
            for i in range(len(images))]


def trajectory(backbone, teacher, target: int, seed: int, cfg: GuidanceConfig, scorers=None, report=None,
               should_stop=None) -> Trajectory:
    """The two passes' x̂0 at every step with their verdicts. scorers: texture_proof_scorers
    (default) or {} for none. report(("step", pass name, step, total, x̂0 image)) as each step ends;
    should_stop() is polled every step (Cancelled)."""
    names = teacher.class_names
    if not 0 <= int(target) < len(names):
        raise DfkdError(f"target must be a class index 0-{len(names) - 1}, got {target!r}.")
    guided_cfg = replace(cfg, candidates=1, cutmix=None)
    guided_cfg.validate()
    scorers = texture_proof_scorers(teacher) if scorers is None else scorers
    x0 = {}
    for name, pass_cfg in zip(PASSES, (replace(guided_cfg, strength=0.0), guided_cfg)):
        frames = x0[name] = []

        def keep(step, total, images, name=name, frames=frames):
            frames.append((step, total, images[0].float().cpu()))
            if report:
                report(("step", name, step, total, frames[-1][2]))
        guided_sample(backbone, teacher, [int(target)], [int(seed)], pass_cfg, on_preview=keep, preview_every=1,
                      should_stop=should_stop)
    stacks = {name: torch.stack([f[2] for f in x0[name]]) for name in PASSES}
    scored = {name: _scored(stacks[name], scorers) for name in PASSES}
    out = Trajectory(int(target), int(seed), names[int(target)], dict(vars(guided_cfg)), judges=list(scored["guided"]))
    verdicts = {name: _verdicts(stacks[name], int(target), teacher, scored[name]) for name in PASSES}
    for i, (step, total, _) in enumerate(x0["guided"]):
        out.frames.append({"step": step, "total": total,
                           **{name: {"image": x0[name][i][2], **verdicts[name][i]} for name in PASSES}})
    return out


def agreement_steps(traj: Trajectory, pass_name: str, judge: str) -> list[int]:
    """The steps at which `judge` (a texture-proof judge's label, or "teacher") calls the pass's
    x̂0 the target class."""
    if judge == "teacher":
        return [f["step"] for f in traj.frames if f[pass_name]["teacher_class"] == traj.target]
    return [f["step"] for f in traj.frames if f[pass_name][judge]["agrees"]]
