"""DeepInversion's settings (Yin et al., 2020), and those of its pipeline stage."""

from dataclasses import dataclass

from dfkd_core.settings import setting

MAX_PER_CLASS = 100_000


@dataclass
class DeepInversionConfig:
    iterations: int = setting(200, "optimisation steps per batch of images", low=1, high=100_000)
    lr: float = setting(0.1, "Adam learning rate of the images", low=0, low_open=True, high=10)
    oh: float = setting(1.0, "weight of the teacher's cross-entropy", low=0, high=1e4)
    bn: float = setting(1.0, "weight of the BN-statistics loss (the paper's feature-distribution regulariser)",
                        low=0, high=1e4)
    tv: float = setting(1e-3, "weight of the total variation, a smoothness prior", low=0, high=1e4)
    jitter: int = setting(2, "random shift (pixels) and flip at each step", low=0, high=64)
    batch_size: int = setting(100, "images optimised together (they share the BN statistics)", low=1, high=4096)


@dataclass
class DeepInversionSettings(DeepInversionConfig):
    per_class: int = setting(100, "images per class", low=1, high=MAX_PER_CLASS)
    seed: int = setting(0, "sample i starts from seed + i", low=0, high=2 ** 48)
