"""Fashion-MNIST: where to find it, and the fixed splits of the demo task.

Search order: the folder the caller names, $DFKD_DATA (the folder itself or its
`fashion-mnist/` subfolder), Debian's package `dataset-fashion-mnist`
(/usr/share/datasets/fashion-mnist), torchvision's cache under ~/.cache/dfkd; and, only
when `download=True`, torchvision's download (needs network).
"""

import os
from pathlib import Path

import numpy as np
import torch

from dfkd_core.errors import DfkdError

from .idx import read_idx
from .image_dataset import ImageDataset

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
CACHE_DIR = Path.home() / ".cache" / "dfkd"
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}

# Demo-task splits (documented in README): the teacher never sees the pool.
TEACHER_TRAIN = range(0, 50_000)   # train images 0-49,999
HELD_OUT_POOL = range(50_000, 60_000)  # train images 50,000-59,999
SPLITS = ("train", "test", "teacher-train", "pool")

HOW_TO_GET = ("Get it one of these ways: `apt-get install dataset-fashion-mnist` (Debian/Ubuntu, puts it in "
              f"{DEBIAN_DIR}); put the four IDX files (optionally .gz) in a folder and pass --data-dir or set "
              "DFKD_DATA; or pass --download where there is network (torchvision).")


def _find(name: str, folder: Path) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz", folder / "FashionMNIST" / "raw" / name,
                      folder / "FashionMNIST" / "raw" / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def candidate_dirs(root: str | os.PathLike | None = None) -> list[Path]:
    dirs = []
    if root:
        dirs.append(Path(root))
    if os.environ.get("DFKD_DATA"):
        env = Path(os.environ["DFKD_DATA"])
        dirs += [env, env / "fashion-mnist"]
    return dirs + [DEBIAN_DIR, CACHE_DIR]


def locate(root=None, download: bool = False) -> Path:
    """The folder holding all four IDX files."""
    for folder in candidate_dirs(root):
        if all(_find(n, folder) for pair in FILES.values() for n in pair):
            return folder
    if root and not Path(root).exists():
        raise DfkdError(f"Fashion-MNIST folder {root} does not exist. {HOW_TO_GET}")
    if download:
        try:
            from torchvision.datasets import FashionMNIST  # heavy: keeps torchvision off importing data.fashion_mnist
            for train in (True, False):
                FashionMNIST(str(CACHE_DIR), train=train, download=True)
        except Exception as e:  # network errors come in many types
            raise DfkdError(f"Downloading Fashion-MNIST failed ({e}). {HOW_TO_GET}")
        return CACHE_DIR
    searched = ", ".join(str(d) for d in candidate_dirs(root))
    raise DfkdError(f"Fashion-MNIST not found (looked in: {searched}). {HOW_TO_GET}")


def load_fashion_mnist(split: str = "test", root=None, download: bool = False, pad_to: int | None = 32) -> ImageDataset:
    """Split 'train' (60k), 'test' (10k), 'teacher-train' (train 0-49,999) or 'pool'
    (train 50,000-59,999). Images are 1x28x28, zero-padded to `pad_to` (default 32)."""
    if split not in SPLITS:
        raise DfkdError(f"Unknown Fashion-MNIST split '{split}'. Expected one of: {', '.join(SPLITS)}.")
    folder = locate(root, download)
    part = "test" if split == "test" else "train"
    img_file, lbl_file = (_find(n, folder) for n in FILES[part])
    images, labels = read_idx(img_file), read_idx(lbl_file)
    if images.ndim != 3 or labels.shape != (images.shape[0],):
        raise DfkdError(f"Fashion-MNIST files in {folder} disagree: images {images.shape}, labels {labels.shape}.")
    ds = ImageDataset(torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64)),
                      list(CLASSES), f"fashion-mnist/{split}")
    if split in ("teacher-train", "pool"):
        rng = TEACHER_TRAIN if split == "teacher-train" else HELD_OUT_POOL
        ds = ds.subset(np.arange(rng.start, rng.stop), ds.name)
    return ds.pad_to(pad_to) if pad_to else ds
