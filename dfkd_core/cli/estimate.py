"""What a run on the demo kit will cost, said before it starts ("GAN ~8 min, distillation ~16
min"), from figures measured on this project's 2-core CPU (BENCHMARKS.md). Only stages whose
cost those figures cover are estimated (the demo kit's prior, GAN and WRN students at 32 px);
a run on other models, or on a GPU, prints nothing rather than a guess."""

from dfkd_core.errors import DfkdError

# Seconds per unit on the 2-core CPU (BENCHMARKS.md: 8 latent-prior samples x 25 steps on one
# thread, guided with the defaults 1.79 s, unguided 0.50 s; GAN 600 steps in ~500 s of one
# thread; an epoch of 10,000 images ~0.55 min with its evaluation on the 10,000 test images).
SAMPLE_STEP_S = {"unguided": 0.50 / 8 / 25, "guided": 1.79 / 8 / 25}  # per image and denoising step
GAN_STEP_S_PER_IMAGE = 0.85 / 32  # per generated image of a step (batch 32)
GAN_SAMPLE_S = 0.002  # per sample written by the trained generator
TRAIN_IMAGE_S = 1 / 400  # per training image of an epoch (KD, WRN-16-1)
EVAL_IMAGE_S = 1 / 1500  # per test image evaluated
# Supervised training per image of an epoch, evaluation included (the demo kit's cards: WRN-16-2
# 4,029 s and WRN-16-1 2,154 s for 10 epochs of 50,000 images)
SUPERVISED_IMAGE_S = {"wrn_16_2": 4029.3 / 500_000, "wrn_16_1": 2153.8 / 500_000}
FMNIST_TEST = 10_000
DEMO_CLASSES = 10


def _images(stage: str, s) -> int | None:
    """The images a source stage leaves (None: not known before it runs)."""
    if stage in ("generate", "unguided"):
        return s.per_class * (len(s.classes) if s.classes else DEMO_CLASSES)
    return getattr(s, "count", None)  # None: not known (a real split taken whole, a sample set)


def _parsed(cfg: dict) -> list:
    """[(stage name, settings object)], every default from the stage's dataclass (empty when
    the config is wrong: the run's own check says why)."""
    # heavy: keeps torch off the CLI's start-up
    from dfkd_core.pipeline.config import stages_of
    from dfkd_core.pipeline.stages import STAGES
    try:
        return [(name, STAGES[name].parse(settings, cfg, name)) for name, settings in stages_of(cfg)]
    except (DfkdError, KeyError):
        return []


def estimate(cfg: dict) -> list[tuple[str, float, str]]:
    """[(phase, seconds, what)] for the stages of a demo-kit run config that the figures cover."""
    if cfg.get("teacher", "demo") != "demo":
        return []
    out, images, real = [], None, 0
    for stage, s in _parsed(cfg):
        if stage in ("generate", "unguided") and s.backbone == "demo":
            kind = "guided" if s.guidance.strength else "unguided"
            n = _images(stage, s)
            out.append((stage, n * s.guidance.steps * SAMPLE_STEP_S[kind], f"{n:,} {kind} images"))
        elif stage == "hidfd":
            real = s.real.count or 0
            out.append(("hidfd GAN", s.gan.steps * s.gan.batch_size * GAN_STEP_S_PER_IMAGE, f"{s.gan.steps:,} steps"))
            out.append(("hidfd samples", s.count * GAN_SAMPLE_S, f"{s.count:,} images"))
        elif stage == "distill" and images is not None and s.student.startswith("wrn_16"):
            train = images + real * s.real_repeat
            tested = min(s.eval_subset or FMNIST_TEST, FMNIST_TEST) if s.eval else 0
            per_epoch = train * TRAIN_IMAGE_S + tested * EVAL_IMAGE_S
            if s.precision == "bf16":
                per_epoch *= 0.35 / 0.55  # BENCHMARKS.md: bf16 epochs on this CPU (AMX)
            out.append(("distillation", s.epochs * per_epoch, f"{s.epochs} epochs of {train:,} images"))
        if stage == "augment" and images is not None:
            images *= 1 + s.variations
        elif stage not in ("distill", "filter"):  # the filter keeps at most what it is given
            images = _images(stage, s)
    return out


def minutes(seconds: float) -> str:
    return f"~{seconds:.0f} s" if seconds < 90 else f"~{seconds / 60:.0f} min"


def print_training_estimate(arch: str, epochs: int, images: int, device: str) -> None:
    """`dfkd teacher train`'s line, for the architectures whose cost the demo kit's cards record."""
    if device == "cpu" and arch in SUPERVISED_IMAGE_S and epochs * images * SUPERVISED_IMAGE_S[arch] >= 60:
        seconds = epochs * images * SUPERVISED_IMAGE_S[arch]
        print(f"expected on a 2-core CPU like this project's: training {minutes(seconds)} ({epochs} epochs of "
              f"{images:,} images); rerun the same command to resume if stopped.", flush=True)


def print_estimate(cfg: dict) -> None:
    """One line, when the run is long enough to plan around and its device is the CPU."""
    parts = estimate(cfg)
    if sum(s for _, s, _ in parts) < 60:
        return
    from dfkd_core.runtime.devices import resolve_device  # heavy: called once the run starts
    if resolve_device(cfg.get("device", "auto")) != "cpu":
        return
    shown = ", ".join(f"{phase} {minutes(s)} ({what})" for phase, s, what in parts)
    print(f"expected on a 2-core CPU like this project's: {shown}; rerun the same command to resume if stopped.",
          flush=True)
