"""The HiDFD GAN's settings: plain named values, validated, stored in checkpoints and cards."""

from dataclasses import asdict, dataclass

from dfkd_core.errors import DfkdError
from dfkd_core.settings import check_types, from_mapping, setting

POLICIES = ("translation", "cutout", "flip")  # DiffAugment's (augment.py); here so settings load without torch

# Settings that may change when a run resumes (they do not change what has been trained).
RESUMABLE_CHANGES = {"steps", "log_every", "checkpoint_every", "samples_every"}


@dataclass
class GANConfig:
    # Defaults tuned on the demo kit for a ~10-minute CPU run (benchmarks/bench_hidfd_gan.py):
    # BigGAN's 2e-4 learning rates left the teacher's target rate near 20% after 100 steps (1e-3
    # and oh=3: 89%); without bn a class collapsed to near-black images the teacher accepted;
    # ms=0.5 doubled the within-class spread at the same teacher-feature FD; cutout (DiffAugment)
    # slowed the teacher's guidance.
    steps: int = setting(600, "generator steps", low=1, high=1_000_000)
    batch_size: int = setting(32, "images per step", low=2, high=1024)
    z_dim: int = setting(64, "size of the generator's latent", low=1, high=1024)
    g_ch: int = setting(16, "generator width (channels of its first block)", low=1, high=256)
    d_ch: int = setting(32, "discriminator width", low=1, high=256)
    lr_g: float = setting(1e-3, "generator learning rate (Adam)", low=0, low_open=True, high=1)
    lr_d: float = setting(1e-3, "discriminator learning rate (Adam)", low=0, low_open=True, high=1)
    beta1: float = setting(0.0, "Adam beta1", low=0, high=1, high_open=True)
    beta2: float = setting(0.999, "Adam beta2", low=0, high=1, high_open=True)
    d_steps: int = setting(1, "discriminator steps per generator step", low=1, high=100)
    adc: float = setting(1.0, "weight of the ADC-GAN auxiliary classifier", low=0, high=1e4)
    oh: float = setting(3.0, "weight of the teacher's cross-entropy on generated images", low=0, high=1e4)
    bn: float = setting(0.1, "weight of the teacher's BN-statistics loss (a realism prior; needs BatchNorm layers)",
                        low=0, high=1e4)
    ms: float = setting(0.5, "weight of the mode-seeking loss (MSGAN): keeps same-class samples apart", low=0,
                        high=1e4)
    feature_integration: bool = setting(True, "HiDFD's feature integration with gradient")
    cfs: bool = setting(True, "category frequency smoothing")
    cfs_beta: float = setting(0.99, "its smoothing factor", low=0, high=1, low_open=True, high_open=True)
    cfs_decay: float = setting(0.9, "its decay", low=0, high=1, high_open=True)
    augment: list = setting(help="DiffAugment policies (cutout also hides the class from the teacher)",
                            factory=lambda: ["translation"])
    real_bank: int = setting(8, "augmented copies of each real image whose teacher features are computed once "
                             "(0: per step)", low=0, high=64)
    ema_decay: float = setting(0.999, "decay of the generator's EMA copy", low=0, high=1, high_open=True)
    seed: int = setting(0, "seed of the weights and the latents (in a run: the stage's seed)", low=0, high=2 ** 48)
    log_every: int = setting(10, "steps between metrics rows", low=1, high=100_000)
    checkpoint_every: int = setting(100, "steps between checkpoints", low=1, high=100_000)
    samples_every: int = setting(100, "steps between per-class grids (0: never)", low=0, high=100_000)

    @classmethod
    def from_dict(cls, d: dict, where: str = "GAN settings") -> "GANConfig":
        return from_mapping(cls, d, where).validate(where)

    def validate(self, where: str = "GAN settings") -> "GANConfig":
        check_types(self, where)
        if not set(self.augment) <= set(POLICIES):
            raise DfkdError(f"{where}: augment must be a list of {', '.join(POLICIES)}; got {self.augment!r}.")
        self.augment = list(self.augment)
        return self


@dataclass
class CollectSettings:
    """Which few real images HiDFD collects (labelled by the teacher's argmax): `count` in all, or
    `per_class` of each class the teacher sees."""
    source: str = setting("demo", "'demo' (the kit's pool), a dataset name, an image folder or a .zip")
    split: str | None = setting(None, "the dataset's split")
    count: int | None = setting(None, "images in all", low=1, high=100_000)
    per_class: int | None = setting(None, "images per class", low=1, high=10_000)
    seed: int = setting(0, "which images (in a run: the stage's seed)", low=0, high=2 ** 48)
    data_dir: str | None = setting(None, "folder holding the dataset")

    def given(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class HiDFDSettings:
    """The pipeline stage `hidfd`."""
    real: CollectSettings = setting(help="the collected real images", factory=lambda: CollectSettings(count=600))
    gan: GANConfig = setting(help="the GAN's settings", factory=GANConfig)
    count: int = setting(1000, "synthetic samples written (balanced over the classes)", low=1, high=2_000_000)
    seed: int = setting(0, "seed of the collection, the GAN and its samples", low=0, high=2 ** 48)
    batch_size: int = setting(250, "samples per batch", low=1, high=4096)

    def validate(self, where: str = "hidfd"):
        self.gan.validate(f"{where}: gan")


def with_stage_seed(mapping: dict, where: str) -> dict:
    """The collection and the GAN take the stage's seed unless their own is set; `real` left
    out collects 600 images of the kit's pool."""
    real = dict(mapping.get("real") or {"source": "demo", "count": 600})
    gan = dict(mapping.get("gan") or {})
    real.setdefault("seed", mapping["seed"])
    gan.setdefault("seed", mapping["seed"])
    return {**mapping, "real": real, "gan": gan}
