"""Settings of the baseline sources: Gaussian noise, and real images labelled by the teacher."""

from dataclasses import dataclass

from dfkd_core.errors import DfkdError
from dfkd_core.settings import setting

MAX_IMAGES = 2_000_000


@dataclass
class NoiseSettings:
    count: int = setting(1000, "images", low=1, high=MAX_IMAGES)
    mean: float = setting(0.5, "mean of the Gaussian noise (images span [0, 1])", low=0, high=1)
    std: float = setting(0.25, "its standard deviation", low=0, high=10)
    seed: int = setting(0, "image k is drawn from seed + k", low=0, high=2 ** 48)


@dataclass
class RealSettings:
    dataset: str | None = setting(None, "fashion-mnist, cifar10, cifar100 or an image folder")
    split: str = setting("train", "its split (e.g. pool: Fashion-MNIST train images 50,000-59,999)")
    count: int | None = setting(None, "images drawn from it (None: all)", low=1, high=MAX_IMAGES)
    seed: int = setting(0, "which images are drawn", low=0, high=2 ** 48)
    data_dir: str | None = setting(None, "folder holding the dataset")

    def validate(self, where: str = "real"):
        if not self.dataset:
            raise DfkdError(f"{where}: needs `dataset:` (e.g. fashion-mnist) and optionally split, count, seed.")
