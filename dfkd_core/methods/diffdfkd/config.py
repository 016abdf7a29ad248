"""The settings of teacher-guided sampling (GuidanceConfig, with Latent CutMix's) and of a
generation run (GenerateConfig), each declared once with its help and range. strength 0 is
unguided sampling: the prior's own sample of each seed, whatever the rest. Light (no torch):
the CLI builds its flags from these at start-up."""

from dataclasses import asdict, dataclass

from dfkd_core.diffusion.prompts import CLASS_PROMPT
from dfkd_core.errors import DfkdError
from dfkd_core.models.names import ARCHITECTURES, canonical_arch
from dfkd_core.settings import check_types, from_mapping, integer, setting

MODES = ("full", "x0")
PRECISIONS = ("auto", "fp32", "bf16")  # auto: fp16/bf16 weights on CUDA, fp32 on a CPU
MAX_STEPS = 1000  # the demo prior's and Stable Diffusion's training timesteps
MAX_PER_CLASS = 100_000  # CIFAR-scale runs make 5,000 per class
MAX_IMAGES = 2_000_000  # per run; ImageNet-scale diffusion distillation used 1.28 M
MAX_BATCH = 4096


@dataclass
class CutMixConfig:
    at_steps: tuple = setting((5,), "Latent CutMix at these step indices (0 = the first, noisiest step)")
    alpha: float = setting(1.0, "box area ~ 1 - Beta(alpha, alpha)", low=0, low_open=True, high=100)

    def validate(self, where: str = "cutmix", steps: int | None = None):
        """Every CutMix step must be a step of the trajectory: one past its end would never happen."""
        check_types(self, where)
        bad = [s for s in self.at_steps if isinstance(s, bool) or not isinstance(s, int) or s < 0
               or (steps is not None and s >= steps)]
        if bad:
            span = f"0..{steps - 1}: step indices of the {steps}-step trajectory" if steps else "0 or more"
            raise DfkdError(f"{where}: Latent CutMix steps {list(bad)} must lie in {span} (0 = the first, noisiest "
                            "step).")


@dataclass
class GuidanceConfig:
    steps: int = setting(25, "denoising steps", low=1, high=MAX_STEPS)
    strength: float = setting(0.04, "guidance strength: how far each guided step moves the sample towards the target "
                               "(0 = unguided; stronger paints textures)", low=0, high=100)
    oh: float = setting(1.0, "weight of the teacher's cross-entropy", low=0, high=1e4)
    bn: float = setting(0.0, "weight of the BN-statistics loss (the teacher needs BatchNorm layers)", low=0, high=1e4)
    adv: float = setting(0.0, "weight of the adversarial loss -KL(T||S) against an online student trained on each "
                         "batch", low=0, high=1e4)
    adv_student: str = setting("wrn_16_1", "zoo architecture of the online student (adv)", choices=ARCHITECTURES)
    adv_steps: int = setting(2, "KD steps of the online student per batch", low=1, high=1000)
    adv_lr: float = setting(1e-3, "Adam learning rate of the online student", low=0, low_open=True, high=1)
    window: tuple = setting((0.0, 0.6), "guide from this fraction of the trajectory to that one (the class is decided "
                           "early; late guidance paints detail the prior would not)")
    every: int = setting(2, "past every_from, a fresh teacher gradient every k-th guided step, the direction "
                         "reused between", low=1, high=MAX_STEPS)
    every_from: float = setting(0.4, "fraction of the guided steps, from the first, with a fresh gradient each",
                                low=0, high=1)
    mode: str = setting("x0", "full: gradient through the denoiser; x0: MPGD-style, without its Jacobian",
                        choices=MODES)
    eta: float = setting(0.0, "0: DDIM, 1: DDPM-like ancestral sampling", low=0, high=1)
    prompt: str | None = setting(CLASS_PROMPT, "prompt template for text-conditioned backbones ({class} is replaced)")
    cutmix: CutMixConfig | None = setting(None, "Latent CutMix (None: off)")
    candidates: int = setting(16, "starting noises tried per sample: each previewed unguided, the teacher keeps the one "
                              "whose rough image it finds most likely the target (1: the seed's own)", low=1, high=256)
    preview_steps: int = setting(4, "DDIM steps of each candidate's rough preview", low=1, high=MAX_STEPS)
    confidence: float = setting(1.0, "stop at this teacher probability of the target: a sample is pushed only while "
                                "below it, and the first candidate start whose preview reaches it is kept (1: push "
                                "all the way, keep the most likely start)", low=0, low_open=True, high=1)
    # levers against adversarial textures (levers.py); 0 = off. The defaults above (16 candidates
    # previewed in 4 steps, strength 0.04 over the first 60 %, no blur, no copies) were chosen by
    # the texture-proof judges on held-out seeds of the demo kit (BENCHMARKS.md, "Guided samples").
    copies: int = setting(0, "average the teacher's gradient over this many randomly shifted, noised copies of the "
                          "decoded image (0: the image itself)", low=0, high=64)
    shift: int = setting(2, "largest shift of a copy, in image pixels", low=0, high=64)
    copy_noise: float = setting(0.0, "std of the Gaussian noise added to a copy (images span [0, 1])", low=0, high=4)
    blur: float = setting(0.0, "std, in latent pixels, of a Gaussian low-pass on the teacher's gradient (0: off)",
                          low=0, high=16)
    recurrence: int = setting(0, "re-noise and redo each guided step this many times (universal guidance; 0: off)",
                              low=0, high=10)

    def validate(self, where: str = "guidance"):
        """Every setting against its declaration, then the rules between them."""
        check_types(self, where)
        if len(self.window) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                            for v in self.window) or not 0.0 <= self.window[0] <= self.window[1] <= 1.0:
            raise DfkdError(f"{where}: window must be [start, end] with 0 <= start <= end <= 1, got {self.window}.")
        self.window = tuple(float(v) for v in self.window)
        self.adv_student = canonical_arch(self.adv_student)
        if self.cutmix:
            self.cutmix.validate(f"{where}: cutmix", self.steps)


@dataclass
class GenerateConfig:
    out: str = setting(help="run folder: config.yaml and the sample store; rerun to resume")
    teacher: str | dict = setting("demo", "'demo', a teacher file, or {source, arch, ...} (TeacherSpec)")
    backbone: str = setting("demo", "'demo', a diffusers folder, or a hub id")
    classes: tuple | None = setting(None, "class indices (None: every class of the teacher)")
    per_class: int = setting(10, "samples per class", low=1, high=MAX_PER_CLASS)
    batch_size: int = setting(16, "samples per batch", low=1, high=MAX_BATCH)
    seed: int = setting(0, "first seed of the plan (sample k of class c of K: seed + k*K + c)", low=0, high=2 ** 48)
    device: str = setting("cpu", "cpu, cuda, cuda:N or mps")
    precision: str = setting("auto", "the denoiser's precision: auto (half on CUDA, fp32 on a CPU), fp32, or bf16 "
                             "autocast (about 2x faster on a CPU with AMX)", choices=PRECISIONS)
    guidance: GuidanceConfig = setting(help="teacher guidance", factory=GuidanceConfig)

    @classmethod
    def from_dict(cls, d: dict, where: str = "generate config") -> "GenerateConfig":
        """A checked config (see validate) from a mapping, e.g. a YAML file."""
        return from_mapping(cls, d, where).validate(where)

    def validate(self, where: str = "generate config") -> "GenerateConfig":
        """Every setting against its declaration, then the rules between them. per_class and the
        planned total are bounded: a plan of 10^9 samples once ran the machine out of memory."""
        if not isinstance(self.out, str) or not self.out.strip():
            raise DfkdError(f"{where}: out must be a folder, got {self.out!r}.")
        check_types(self, where)
        if self.classes is not None:
            if not isinstance(self.classes, (list, tuple)) or not self.classes:
                raise DfkdError(f"{where}: classes must be a non-empty list of class indices (or left out: every "
                                f"class), got {self.classes!r}.")
            self.classes = tuple(integer(c, "classes", where, low=0) for c in self.classes)
            if len(set(self.classes)) != len(self.classes):
                raise DfkdError(f"{where}: classes {list(self.classes)} name a class twice.")
            planned_images(self, len(self.classes), where)
        self.guidance.validate(f"{where}: guidance")
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        d["classes"] = None if self.classes is None else list(self.classes)
        d["guidance"]["window"] = list(self.guidance.window)
        if self.guidance.cutmix is not None:
            d["guidance"]["cutmix"]["at_steps"] = list(self.guidance.cutmix.at_steps)
        return d


def planned_images(cfg: GenerateConfig, num_classes: int, where: str = "generate config") -> int:
    total = cfg.per_class * num_classes
    if total > MAX_IMAGES:
        raise DfkdError(f"{where}: {cfg.per_class} per class x {num_classes} classes = {total:,} images; one run makes "
                        f"at most {MAX_IMAGES:,}. Lower per_class, or split the classes over several runs.")
    return total
