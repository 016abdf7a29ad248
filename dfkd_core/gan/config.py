"""The HiDFD GAN's settings: plain named values, validated, stored in checkpoints and cards."""

from dataclasses import dataclass, field

from ..errors import DfkdError
from .augment import POLICIES

# Settings that may change when a run resumes (they do not change what has been trained).
RESUMABLE_CHANGES = {"steps", "log_every", "checkpoint_every", "samples_every"}


@dataclass
class GANConfig:
    # Defaults tuned on the demo kit for a ~10-minute CPU run (benchmarks/bench_hidfd_gan.py):
    # BigGAN's 2e-4 learning rates left the teacher's target rate near 20% after 100 steps (1e-3
    # and oh=3: 89%); without bn a class collapsed to near-black images the teacher accepted;
    # ms=0.5 doubled the within-class spread at the same teacher-feature FD; cutout (DiffAugment)
    # slowed the teacher's guidance.
    steps: int = 600
    batch_size: int = 32
    z_dim: int = 64
    g_ch: int = 16
    d_ch: int = 32
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    beta1: float = 0.0
    beta2: float = 0.999
    d_steps: int = 1  # discriminator steps per generator step
    adc: float = 1.0  # weight of the ADC-GAN auxiliary classifier
    oh: float = 3.0  # weight of the teacher's cross-entropy on generated images
    bn: float = 0.1  # weight of the teacher's BN-statistics loss (a realism prior; needs BatchNorm layers)
    ms: float = 0.5  # weight of the mode-seeking loss (MSGAN): keeps same-class samples apart
    feature_integration: bool = True
    cfs: bool = True  # category frequency smoothing
    cfs_beta: float = 0.99
    cfs_decay: float = 0.9
    augment: list = field(default_factory=lambda: ["translation"])  # cutout also hides the class from the teacher
    real_bank: int = 8  # augmented copies of each real image whose teacher features are computed once (0: per step)
    ema_decay: float = 0.999
    seed: int = 0
    log_every: int = 10
    checkpoint_every: int = 100
    samples_every: int = 100  # how often on_samples gets a per-class grid (0: never)

    @classmethod
    def from_dict(cls, d: dict) -> "GANConfig":
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise DfkdError(f"Unknown GAN settings {sorted(unknown)}; expected some of "
                            f"{sorted(cls.__dataclass_fields__)}.")
        return cls(**d).validate()

    def validate(self) -> "GANConfig":
        checks = [(self.steps >= 1, "steps must be at least 1"),
                  (self.batch_size >= 2, "batch_size must be at least 2"),
                  (self.d_steps >= 1, "d_steps must be at least 1"),
                  (min(self.z_dim, self.g_ch, self.d_ch) >= 1, "z_dim, g_ch and d_ch must be positive"),
                  (min(self.lr_g, self.lr_d) > 0, "learning rates must be positive"),
                  (min(self.adc, self.oh, self.bn, self.ms) >= 0, "loss weights adc, oh, bn, ms must be >= 0"),
                  (0 < self.cfs_beta < 1, "cfs_beta must be in (0, 1)"),
                  (0 <= self.cfs_decay < 1, "cfs_decay must be in [0, 1)"),
                  (0 <= self.ema_decay < 1, "ema_decay must be in [0, 1)"),
                  (set(self.augment) <= set(POLICIES), f"augment must be a list of {POLICIES}"),
                  (self.real_bank >= 0, "real_bank must be >= 0"),
                  (min(self.log_every, self.checkpoint_every) >= 1, "log_every and checkpoint_every must be >= 1")]
        for ok, msg in checks:
            if not ok:
                raise DfkdError(f"GAN settings: {msg}.")
        self.augment = list(self.augment)
        return self
